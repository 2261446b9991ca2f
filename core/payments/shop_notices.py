"""The shops' write-backs of the payments a chunk of a bank import booked, in a few queries.

:func:`payment_notices` writes for many orders what
:func:`core.writeback.notices.payment_notice` writes for one: the same event, note, values
and key. Where that reads the order's operations, payment blocks and balance one order at a
time, this reads them for all orders at once; an order this does not cover (no receivables:
not the local provider's) goes through ``payment_notice`` itself.
``tests/test_payments_chunk.py`` compares the two (:func:`~core.writeback.notices.values_of`
and the note are shared).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import select

from core.ledger.db import among, insert, slices
from core.ledger.models import OperationRecord, Order, WriteBackRecord
from core.ledger.store import Ledger
from core.payments.block import payment_blocks_of
from core.receivables.balance import balances_of
from core.state import Status
from core.writeback.notices import invoice_number, paid_note, payment_notice, values_of
from core.writeback.outbox import writeback_row

__all__ = ["payment_notices"]

def _invoice_numbers(ledger: Ledger, order_ids: list[int]) -> dict[int, list[str]]:
    """:func:`core.writeback.notices.invoice_numbers` of many orders."""
    found: dict[int, list[str]] = {}
    for part in slices(order_ids):
        rows = ledger.session.execute(
            select(OperationRecord.order_id, OperationRecord.kind, OperationRecord.status,
                   OperationRecord.document_number, OperationRecord.provider_reference)
            .where(among(ledger.session, OperationRecord.order_id,
                         part))
            .order_by(OperationRecord.id))
        for order_id, *record in rows:
            if number := invoice_number(*record):
                found.setdefault(order_id, []).append(number)
    return found


def payment_notices(ledger: Ledger, paid: Sequence[tuple[Order, int, date, str]]) -> None:
    """Queue the write-back of each ``(order, amount, booked on, key)`` as
    :func:`~core.writeback.notices.payment_notice` (``reversal=False``) does, each order
    at most once, as the ledger stands now."""
    if not paid:
        return
    orders = [order for order, *_ in paid]
    balances = balances_of(ledger, orders)
    # of the order's state (ledger.state_of) only its status, activated amount and
    # decline reason are read, which it takes from the order's row as they are
    blocks = payment_blocks_of(ledger, [order for order in orders if order.activated])
    numbers = _invoice_numbers(ledger, sorted(order.id for order in orders))
    now = datetime.now(UTC)
    rows = []
    for order, amount, booked_on, key in paid:
        balance = balances.get(order.id)
        if balance is None:
            payment_notice(ledger, order, amount, booked_on=booked_on, reversal=False, key=key)
            continue
        found = blocks.get(order.id, [])
        values = values_of(order, numbers.get(order.id, ()), found, balance,
                           status=Status(order.status),
                           open_amount=0 if found else ledger.state_of(order).open_amount,
                           decline_reason=order.decline_reason)
        rows.append(writeback_row(order, "paid", paid_note(amount, order.currency, booked_on,
                                                          values),
                                  values, f"{key}:paid:{order.id}", now))
    if rows:
        table = WriteBackRecord.__table__
        ledger.session.connection().execute(
            insert(ledger.session, table).on_conflict_do_nothing(
                index_elements=[table.c.idempotency_key]), rows)
