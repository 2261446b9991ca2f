"""The ``invoicekit`` command groups that belong to no single area package: merchants and
shops, orders, operations and deliveries, back-office users and the audit record (the others
live with their area, e.g. ``core.receivables.commands``)."""
