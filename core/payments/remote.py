"""Payments a remote provider reports by its webhook (Billie's ``payment``, its pay-outs),
booked on the order so that its open amount, ``invoicekit orders show``, the back office
and the shop's ``paid`` write-back read as for the local provider's payments.

A remote provider's invoices have no receivable in the ledger (the provider collects them,
and the kit runs no dunning for them), so a reported payment is a movement of the journal
with the kind the local provider's payments have (``payment``: statements show it, and it
leaves the merchant's payout as it is), its document the provider's invoice reference.
:func:`~core.receivables.balance.remote_balance` reads them back as a
:class:`~core.receivables.balance.Balance`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from core.ledger.models import Movement, Order
from core.ledger.store import Ledger
from core.money import money_text
from core.receivables.balance import PAYMENT, paid_of, remote_balance
from core.writeback.notices import order_values
from core.writeback.outbox import queue_writeback

__all__ = ["PAYMENT", "book_reported_payment", "paid_of", "remote_balance", "remote_values"]


def remote_values(ledger: Ledger, order: Order,
                  details: dict[str, object] | None = None) -> dict[str, str]:
    """The write-back values of a remote provider's order with its reported payments (as
    :func:`~core.writeback.notices.order_values` gives them): ``invoiced_amount``,
    ``credited_amount``, ``paid_amount``, ``open_amount``, and the state ``paid`` once
    nothing is open on an active order."""
    return order_values(ledger, order, ledger.state_of(order), details)


def book_reported_payment(ledger: Ledger, order: Order, *, paid_total: int,
                          invoice_reference: str | None, booked_on: date | datetime,
                          key: str, provider: str, what: str = "payment") -> int:
    """Book what the provider reports paid, once per ``key``, and tell the shop (``paid``).

    ``paid_total`` is the sum paid so far on the invoice ``invoice_reference`` (on the
    whole order without one), as Billie's ``amount`` is; what was booked on it before is
    deducted, and no more than the order has open is booked. Returns the amount booked."""
    already = ledger.session.scalar(select(Movement.id).where(
        Movement.idempotency_key == key, Movement.kind == PAYMENT))
    if already is not None:
        return 0
    balance = remote_balance(ledger, order)
    if balance is None:
        return 0
    amount = min(paid_total - paid_of(ledger, order, invoice_reference), balance.open)
    if amount <= 0:
        return 0
    day = booked_on.date() if isinstance(booked_on, datetime) else booked_on
    ledger.journal(merchant_id=order.connection.merchant_id, order_id=order.id, kind=PAYMENT,
                   amount=-amount, currency=order.currency, idempotency_key=key,
                   description=f"{what} reported by {provider}",
                   document_number=invoice_reference,
                   occurred_at=booked_on if isinstance(booked_on, datetime) else None)
    values = remote_values(ledger, order)
    left = f"{values.get('open_amount', '0')} {order.currency}"
    note = (f"Payment of {money_text(amount, order.currency)} reported by {provider} on "
            f"{day.isoformat()} ({what}); "
            + ("paid in full." if values.get("state") == "paid" else f"{left} still open."))
    queue_writeback(ledger, order, "paid", note, values, key=f"{key}:paid:{order.id}")
    return amount
