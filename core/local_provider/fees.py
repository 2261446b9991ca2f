"""The merchant's fee: a percentage of what is invoiced per order, with VAT on it.

The fee of an order is computed on its whole invoiced gross (invoices less credit notes)
and rounded once; each invoice or credit note journals the change. So the fee movements of
an order always add up to the fee of what stays invoiced, and to zero when it is credited
in full.
"""

from __future__ import annotations

from sqlalchemy import case, func, select

from core.ledger.models import Invoice, Merchant, Movement
from core.ledger.store import Ledger
from core.money import percent_of

__all__ = ["FEE_KINDS", "charge_fee"]

FEE_KINDS = ("fee", "fee_vat")


def _invoiced(ledger: Ledger, order_id: int) -> int:
    signed = case((Invoice.kind == "invoice", Invoice.gross), else_=-Invoice.gross)
    return int(ledger.session.scalar(
        select(func.coalesce(func.sum(signed), 0)).where(Invoice.order_id == order_id)))


def _charged(ledger: Ledger, order_id: int) -> dict[str, int]:
    """What the order's fee movements add up to, per kind (both read at once)."""
    return {kind: int(total) for kind, total in ledger.session.execute(
        select(Movement.kind, func.sum(Movement.amount))
        .where(Movement.order_id == order_id, Movement.kind.in_(FEE_KINDS))
        .group_by(Movement.kind))}


def charge_fee(ledger: Ledger, merchant: Merchant, order_id: int, *, key: str,
               document_number: str, currency: str) -> None:
    """Journal how the order's fee (and the VAT on it) changed with the document just
    issued under ``key``; fee movements are charges to the merchant."""
    fee = percent_of(_invoiced(ledger, order_id), merchant.fee_percent)
    charged = _charged(ledger, order_id)  # a fee movement changes only its own kind's sum
    for kind, due, label in (
            ("fee", fee, f"fee {merchant.fee_percent} %"),
            ("fee_vat", percent_of(fee, merchant.fee_vat_percent),
             f"VAT {merchant.fee_vat_percent} % on the fee")):
        change = due - charged.get(kind, 0)
        if change:
            ledger.journal(merchant_id=merchant.id, order_id=order_id, kind=kind,
                           amount=change, currency=currency, idempotency_key=key,
                           description=f"{label} on {document_number}",
                           document_number=document_number)
