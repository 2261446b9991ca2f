"""Generic: any shop system posting canonical order events signed with Standard Webhooks.

Registered through the ``invoicekit`` entry point ``generic``.
"""
