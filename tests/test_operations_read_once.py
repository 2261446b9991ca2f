"""An order's operations are read once per transaction while the order is locked in it
(``Ledger.operations_of``), and read again after anything that may undo them or the lock."""

from __future__ import annotations

from sqlalchemy import event

from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.operations import Amount, Operation, OperationKind
from orders import snapshot


def credit(key: str) -> Operation:
    return Operation(kind=OperationKind.FULL_CREDIT, amount=Amount(100, 84, 16), by_rate=(),
                     idempotency_key=key, source="test", after_activation=False)


def reads_of_operations(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: seen.append(statement)
                 if statement.startswith("SELECT operations.id") else None)
    return seen


def test_a_locked_orders_operations_are_read_once_and_new_ones_are_added(engine, feed):
    feed(snapshot("7001", status="processing"))  # the order and its placement
    reads = reads_of_operations(engine)
    with session_scope(engine) as session:
        ledger = Ledger(session)
        order = ledger.lock_order_by_id(ledger.find_order("acme", "7001").id)
        first = ledger.operations_of(order)
        assert [r.kind for r in first] == ["placement"] and len(reads) == 1
        record = ledger.operation_record(order, credit("k-1"))
        assert ledger.operation_record(order, credit("k-1")) is record  # found, not made
        assert [r.kind for r in ledger.operations_of(order)] == ["placement", "full_credit"]
        assert ledger.invoice_references(order) == ()
        assert len(reads) == 1
        first.clear()  # a caller's copy: the ledger's own list is not touched
        assert len(ledger.operations_of(order)) == 2


def test_without_the_lock_every_call_reads(engine, feed):
    feed(snapshot("7002", status="processing"))
    reads = reads_of_operations(engine)
    with session_scope(engine) as session:
        ledger = Ledger(session)
        order = ledger.find_order("acme", "7002")
        ledger.operations_of(order)
        ledger.operations_of(order)
    assert len(reads) == 2


def test_a_rolled_back_savepoint_makes_the_next_call_read_again(engine, feed):
    feed(snapshot("7003", status="processing"))
    with session_scope(engine) as session:
        ledger = Ledger(session)
        order = ledger.lock_order_by_id(ledger.find_order("acme", "7003").id)
        ledger.operations_of(order)
        savepoint = session.begin_nested()
        ledger.operation_record(order, credit("k-3"))
        savepoint.rollback()
        assert [r.kind for r in ledger.operations_of(order)] == ["placement"]
