"""The built-in local provider: the kit itself authorises, invoices and credits the order.

Registered through the ``invoicekit`` entry point ``local`` like any provider plugin.
"""
