"""The GiroCode the shop shows its buyer: which payment block the write-back names, the
signed link to its EPC QR code (``girocode_url``) and the PNG behind the link.

The link (:mod:`core.einvoice.links`, kind ``girocode``) names the invoice only: the PNG is
drawn when it is fetched, for what is still owed on the invoice then
(:func:`core.payments.block.payment_blocks`), so a partial payment or credit changes the
amount in it. An invoice with nothing owed, or one in a currency other than the euro, has
no GiroCode, and its link answers 404.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.einvoice.links import DocumentLinks
from core.ledger.models import Invoice, Order
from core.ledger.store import Ledger
from core.payments.block import PaymentBlock, invoice_blocks, payment_blocks, qr_png

__all__ = ["KIND", "girocode_png", "girocode_url", "shown_block"]

KIND = "girocode"


def shown_block(blocks: Sequence[PaymentBlock]) -> PaymentBlock:
    """The block whose details the shop shows: the first one still owed, else the last."""
    return next((block for block in blocks if block.amount > 0), blocks[-1])


def girocode_url(links: DocumentLinks, ledger: Ledger, order: Order) -> str | None:
    """The signed link to the GiroCode of the invoice the write-back names; ``None`` while
    the order has no payment block or the block has no EPC QR code."""
    pairs = invoice_blocks(ledger, order)
    if not pairs:
        return None
    shown = shown_block([block for _, block in pairs])
    if not shown.qr_available:
        return None
    invoice = next(invoice for invoice, block in pairs if block is shown)
    return links.url(invoice.id, KIND, invoice.issued_on)


def girocode_png(ledger: Ledger, invoice: Invoice) -> bytes | None:
    """The invoice's EPC QR code as a PNG, for what is owed on it now; ``None`` when it has
    none."""
    order = ledger.session.get(Order, invoice.order_id)
    if order is None or invoice.kind != "invoice":
        return None
    block = next((b for b in payment_blocks(ledger, order)
                  if b.invoice_number == invoice.number), None)
    if block is None or not block.qr_available:
        return None
    return qr_png(block, scale=6)
