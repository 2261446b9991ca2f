"""Write-back: what the kit tells the shop about its orders.

Where an event is turned into a write-back (``notices``), where it waits and is sent with
retries (``outbox``), and the kit's observer plugin that queues one for every outcome
(``plugin``). The platform plugins write it over the shop's own API
(:func:`~core.hookspecs.write_back`).
"""

# The machine-readable values a write-back can carry, as the shop stores them (WooCommerce
# order meta and Shopware custom fields, each prefixed ``invoicekit_``);
# ``invoice_document_url`` and ``girocode_url`` are added when a write-back is sent
# (core.writeback.outbox).
FIELDS = ("provider", "provider_order_id", "invoice_ids", "payment_reference", "iban", "bic",
          "account_holder", "due_date", "invoiced_amount", "credited_amount", "paid_amount",
          "charges_amount", "open_amount", "currency", "state", "decline_reason",
          "invoice_document_url", "girocode_url")
