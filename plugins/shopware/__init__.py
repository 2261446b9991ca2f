"""Shopware 6 as an app (the app system): registration handshake, signed webhooks, order
events into canonical snapshots, Admin API reads for partial returns and refunds.

Registered through the ``invoicekit`` entry point ``shopware``.
"""
