"""The shops' write-backs of the payments a chunk of a bank import booked, in a few queries.

:func:`payment_notices` writes for many orders what
:func:`core.writeback.notices.payment_notice` writes for one: the same event, note, values
and key. Where that reads the order's operations, payment blocks and balance one order at a
time, this reads them for all orders at once; an order this does not cover (no receivables:
not the local provider's) goes through ``payment_notice`` itself.
``tests/test_payments_batch.py`` compares the two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import select

from core.ledger.db import insert
from core.ledger.models import OperationRecord, Order, WriteBackRecord
from core.ledger.store import Ledger
from core.money import money_text, to_decimal
from core.operations import OperationKind
from core.payments.among import among
from core.payments.block import PaymentBlock, payment_blocks_of, printed_reference
from core.receivables.balance import Balance, balances_of
from core.state import Status
from core.writeback import FIELDS
from core.writeback.girocode import shown_block
from core.writeback.notices import payment_notice

__all__ = ["payment_notices"]

ACTIVATION = OperationKind.ACTIVATION.value


def _invoice_numbers(ledger: Ledger, order_ids: list[int]) -> dict[int, list[str]]:
    """:func:`core.writeback.notices.invoice_numbers` of many orders."""
    found: dict[int, list[str]] = {}
    for start in range(0, len(order_ids), 500):
        rows = ledger.session.execute(
            select(OperationRecord.order_id, OperationRecord.kind, OperationRecord.status,
                   OperationRecord.document_number, OperationRecord.provider_reference)
            .where(among(ledger.session, OperationRecord.order_id,
                         order_ids[start:start + 500]))
            .order_by(OperationRecord.id))
        for order_id, kind, status, number, reference in rows:
            if kind == ACTIVATION and status == "succeeded" and reference:
                found.setdefault(order_id, []).append(number or reference)
    return found


def _values(order: Order, open_amount: int, invoices: Sequence[str],
            blocks: Sequence[PaymentBlock], balance: Balance) -> dict[str, str]:
    """:func:`core.writeback.notices.order_values` of an order with receivables, without
    details reported by a provider; ``open_amount``: its state's (read only where it has no
    payment block)."""
    currency, status = order.currency, Status(order.status)
    values = {"provider": order.provider, "state": status.value, "currency": currency}
    if order.provider_reference:
        values["provider_order_id"] = order.provider_reference
    if invoices:
        values["invoice_ids"] = ",".join(invoices)
    if blocks:
        open_amount = sum(block.amount for block in blocks)
        block = shown_block(blocks)
        values.update(iban=block.iban, payment_reference=printed_reference(block),
                      open_amount=str(to_decimal(open_amount, currency)),
                      account_holder=block.account_holder)
        if block.bic:
            values["bic"] = block.bic
        if block.due_on:
            values["due_date"] = block.due_on.isoformat()
        if open_amount == 0 and status is Status.ACTIVE:
            values["state"] = "paid"
    else:
        values["open_amount"] = str(to_decimal(open_amount, currency))
    values.update({f"{name}_amount": str(to_decimal(amount, currency)) for name, amount in (
        ("invoiced", balance.invoiced), ("credited", balance.credited),
        ("paid", balance.paid), ("charges", balance.charges), ("open", balance.open))})
    if status is Status.DECLINED and order.decline_reason:
        values["decline_reason"] = order.decline_reason
    return {key: values[key] for key in FIELDS if key in values}


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
        values = _values(order, 0 if found else ledger.state_of(order).open_amount,
                         numbers.get(order.id, ()), found, balance)
        left = f"{values['open_amount']} {order.currency}"
        note = f"Payment of {money_text(amount, order.currency)} received on " \
               f"{booked_on.isoformat()}; " + \
               ("paid in full." if values.get("state") == "paid" else f"{left} still open.")
        digest = hashlib.sha256(f"writeback:{key}:paid:{order.id}".encode()).hexdigest()
        rows.append(dict(connection_id=order.connection_id, order_id=order.id, event="paid",
                         note=note, values=values, idempotency_key=digest, status="pending",
                         attempts=0, uncertain=False, created_at=now))
    if rows:
        table = WriteBackRecord.__table__
        ledger.session.connection().execute(
            insert(ledger.session, table).on_conflict_do_nothing(
                index_elements=[table.c.idempotency_key]), rows)
