"""How buyers paid their invoices: the record the risk engine grows credit limits on.

Reads only the receivables and payments; written by :mod:`core.receivables.book`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, select

from core.ledger.models import Order, Payment, Receivable
from core.ledger.store import Ledger

__all__ = ["ENDED", "PaymentHistory", "buyer_receivables", "history_of", "payment_history"]

ENDED = ("settled", "cancelled")  # a receivable in these states asks nothing any more


@dataclass(frozen=True, slots=True)
class PaymentHistory:
    """How a buyer paid its invoices: what the risk assessment grows credit limits on."""

    invoices_paid: int
    paid_on_time: int
    paid_late: int
    amount_paid: int
    open_overdue: int


def buyer_receivables(ledger: Ledger, buyer_ids: Collection[int] | Select[Any]) -> list[Any]:
    """Every receivable of these buyer records (one buyer with several merchants has one per
    merchant): order, currency, status, due day, paid, ``open`` and ``last_paid_on``."""
    last_paid = select(func.max(Payment.booked_on)).where(
        Payment.receivable_id == Receivable.id).correlate(Receivable).scalar_subquery()
    return list(ledger.session.execute(
        select(Receivable.order_id, Receivable.currency, Receivable.status, Receivable.due_on,
               Receivable.paid,
               (Receivable.gross - Receivable.credited - Receivable.paid).label("open"),
               last_paid.label("last_paid_on"))
        .join(Order, Order.id == Receivable.order_id)
        .where(Order.buyer_id.in_(buyer_ids))))


def history_of(rows: Sequence[Any], today: date) -> PaymentHistory:
    """The payment record in :func:`buyer_receivables` rows: invoices paid in full (on time:
    by the due date) and those overdue ``today``."""
    settled = [r for r in rows
               if r.status == "settled" and r.paid > 0 and r.last_paid_on is not None]
    on_time = sum(1 for r in settled if r.last_paid_on <= r.due_on)
    return PaymentHistory(
        invoices_paid=len(settled), paid_on_time=on_time, paid_late=len(settled) - on_time,
        amount_paid=sum(int(r.paid) for r in rows),
        open_overdue=sum(1 for r in rows if r.open > 0 and r.due_on < today
                         and r.status not in ENDED))


def payment_history(ledger: Ledger, buyer_id: int, today: date | None = None) -> PaymentHistory:
    """How the buyer paid its invoices, and how many are overdue now."""
    return history_of(buyer_receivables(ledger, [buyer_id]),
                      today or datetime.now(UTC).date())
