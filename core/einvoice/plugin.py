"""The kit's observer for e-invoices: every invoice and credit note the local provider
issues gets its e-mail to the buyer queued, in the transaction that issues it
(:mod:`core.einvoice.mail` sends it after the commit).

Registered by default; disable it (``INVOICEKIT_DISABLED_PLUGINS=core.einvoice.plugin``)
when the shop sends the invoices to the buyers itself.
"""

from __future__ import annotations

from core import hookimpl
from core.context import OrderContext
from core.einvoice.mail import queue_document_emails
from core.ledger.store import Ledger
from core.operations import Operation, OperationResult


@hookimpl
def operation_succeeded(order: OrderContext, operation: Operation, result: OperationResult,
                        ledger: Ledger) -> None:
    if result.document_number:  # the local provider issued one or more documents
        queue_document_emails(ledger, order.order_key, operation.idempotency_key)
