"""WooCommerce: signed order webhooks (REST v3 order JSON) into canonical snapshots.

Registered through the ``invoicekit`` entry point ``woocommerce``.
"""
