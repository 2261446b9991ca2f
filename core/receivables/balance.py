"""What an order stands at: invoiced, credited, paid, charges, open.

One reading for every place that shows it (``invoicekit orders show``, the back office,
the write-back to the shop), so they agree: ``open = invoiced - credited - paid + charges``,
where ``paid`` is all the buyer paid (principal and charges) and ``charges`` what default
added and was claimed, less what the merchant waived. The local provider's orders are read
from their receivables (:func:`balance_of`); a remote provider's, which have none, from their
operations and the payments the provider reported (:func:`remote_balance`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from core.ledger.db import among, slices
from core.ledger.models import Charge, Movement, Order, Receivable
from core.ledger.store import Ledger

__all__ = ["PAYMENT", "Balance", "balance_of", "balances_of", "paid_of", "remote_balance"]

PAYMENT = "payment"  # the journal kind of a payment (as core.receivables.book writes it)


@dataclass(frozen=True, slots=True)
class Balance:
    """Amounts in minor units of ``currency``."""

    currency: str
    invoiced: int
    credited: int
    paid: int
    charges: int  # claimed, less waived
    charges_paid: int
    charges_waived: int

    @property
    def charges_open(self) -> int:
        return self.charges - self.charges_paid

    @property
    def open(self) -> int:
        return self.invoiced - self.credited - self.paid + self.charges

    def as_dict(self) -> dict[str, int]:
        return {"invoiced": self.invoiced, "credited": self.credited, "paid": self.paid,
                "charges": self.charges, "charges_paid": self.charges_paid,
                "charges_open": self.charges_open, "charges_waived": self.charges_waived,
                "open": self.open}


def _summed(amount: Any) -> Any:
    """``amount`` summed over a receivable's charges, read with the receivable's row."""
    return select(func.coalesce(func.sum(amount), 0)).where(
        Charge.receivable_id == Receivable.id).scalar_subquery()


# built once: a receivable with what its charges paid, claimed less waived, and waived
_WITH_CHARGES = select(Receivable, _summed(Charge.paid), _summed(Charge.claimed - Charge.waived),
                       _summed(Charge.waived))


def balance_of(ledger: Ledger, order: Order) -> Balance | None:
    """The order's balance over its receivables; ``None`` when it has none (not invoiced
    yet, or a remote provider's order)."""
    rows = ledger.session.execute(_WITH_CHARGES.where(Receivable.order_id == order.id)).all()
    return _balance(order, rows)


def balances_of(ledger: Ledger, orders: Sequence[Order]) -> dict[int, Balance]:
    """:func:`balance_of` of many orders in a query per 500, by order id; an order without
    receivables is left out."""
    rows: dict[int, list[Any]] = {}
    ids = sorted({order.id for order in orders})
    for part in slices(ids):
        for row in ledger.session.execute(_WITH_CHARGES.where(
                among(ledger.session, Receivable.order_id, part))):
            rows.setdefault(row[0].order_id, []).append(row)
    found = {order.id: _balance(order, rows.get(order.id, [])) for order in orders}
    return {order_id: balance for order_id, balance in found.items() if balance is not None}


def _balance(order: Order, rows: Sequence[Any]) -> Balance | None:
    if not rows:
        return None
    charges_paid = sum(int(row[1]) for row in rows)
    return Balance(
        currency=order.currency,
        invoiced=sum(r.gross for r, *_ in rows),
        credited=sum(r.credited for r, *_ in rows),
        paid=sum(r.paid for r, *_ in rows) + charges_paid,
        charges=sum(int(row[2]) for row in rows),
        charges_paid=charges_paid,
        charges_waived=sum(int(row[3]) for row in rows))


def paid_of(ledger: Ledger, order: Order, invoice_reference: str | None = None) -> int:
    """What the provider reported paid on the order (or on one of its invoices)."""
    query = select(func.coalesce(func.sum(Movement.amount), 0)).where(
        Movement.order_id == order.id, Movement.kind == PAYMENT)
    if invoice_reference is not None:
        query = query.where(Movement.document_number == invoice_reference)
    return -int(ledger.session.scalar(query) or 0)


def remote_balance(ledger: Ledger, order: Order) -> Balance | None:
    """The balance of an order without receivables (a remote provider's) from its operations
    and the payments its provider reported: invoiced (activated), credited (credit notes),
    paid, and ``open`` (what the buyer still owes on the invoices); ``None`` before the
    first invoice."""
    state = ledger.state_of(order)
    if not state.activated:
        return None
    return Balance(currency=order.currency, invoiced=state.activated, credited=state.credited,
                   paid=paid_of(ledger, order), charges=0, charges_paid=0, charges_waived=0)
