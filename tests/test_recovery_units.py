"""The parts of outage recovery, in process: which errors are outages, the mark of a
delivery the queue could not take, and the sweep's minute rule that leaves a backlog alone."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import OperationalError, ProgrammingError

from core.context import ParsedDelivery
from core.inbox import store_delivery, take_unqueued
from core.ledger.db import session_scope
from core.ledger.models import Delivery
from core.ledger.store import Ledger
from core.outage import Outages, outage_kind
from core.queue import Queue, make_huey, outage_delay


def test_outages_are_told_apart_from_bugs():
    def sqlite_error(message: str) -> OperationalError:
        return OperationalError("INSERT", {}, sqlite3.OperationalError(message))

    assert outage_kind(sqlite_error("database or disk is full")) == "database"
    assert outage_kind(sqlite_error("database is locked")) == "database"
    assert outage_kind(sqlite_error("no such table: deliveries")) is None  # a bug
    assert outage_kind(ProgrammingError("SELECT", {}, Exception("syntax"))) is None
    assert outage_kind(ConnectionRefusedError(111, "refused")) == "queue"
    assert outage_kind(ValueError("bug")) is None


def test_an_outage_is_logged_once_and_its_end_once(caplog):
    outages = Outages()
    error = OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
    for _ in range(50):
        outages.down(error)
    outages.up("database")
    outages.up("database")
    lines = [r.getMessage() for r in caplog.records if r.name == "invoicekit.outage"]
    assert len(lines) == 2 and lines[0].startswith("outage: ")
    assert lines[1].startswith("outage over: ")
    assert [outage_delay(n) for n in range(6)] == [1, 2, 4, 8, 15, 15]


def test_work_that_began_before_an_outage_ended_starts_no_new_one(caplog):
    outages = Outages()
    error = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    straggler = time.monotonic()  # began during the outage; its error is handled late
    outages.down(error, started=straggler)
    outages.up("database", wrote=True)  # another request stored its delivery
    outages.down(error, started=straggler)
    assert not outages.is_down()
    outages.down(error, started=time.monotonic())  # work begun since: a new outage
    lines = [r.getMessage() for r in caplog.records if r.name == "invoicekit.outage"]
    assert [line.split(":")[0] for line in lines] == ["outage", "outage over", "outage"]


def test_work_ridden_out_that_began_before_an_outage_ended_starts_no_new_one(caplog):
    outages = Outages()
    error = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    outages.down(error)
    with outages.ridden_out():  # a periodic run, begun while the database was away
        outages.up("database", wrote=True)  # meanwhile a request stored its delivery
        raise error  # the run's own failure, handled after the end
    assert not outages.is_down()
    with outages.ridden_out():  # begun since: a new outage
        raise error
    lines = [r.getMessage() for r in caplog.records if r.name == "invoicekit.outage"]
    assert [line.split(":")[0] for line in lines] == ["outage", "outage over", "outage"]


def test_an_error_of_unknown_start_just_after_an_outage_ended_is_its_straggler(
        caplog, monkeypatch):
    outages = Outages()
    error = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    outages.down(error)
    outages.up("database", wrote=True)
    outages.down(error)  # a library's traceback, a connection attempt begun during it
    assert not outages.is_down()
    monkeypatch.setattr("core.outage.STRAGGLERS", 0.0)  # as if long after the end
    outages.down(error)
    lines = [r.getMessage() for r in caplog.records if r.name == "invoicekit.outage"]
    assert [line.split(":")[0] for line in lines] == ["outage", "outage over", "outage"]


def test_sqlite_errors_while_its_disk_is_full_are_that_one_outage(caplog):
    outages = Outages()
    full = OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    io = OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))
    outages.down(full)
    outages.down(io)  # the same full disk, in other words
    outages.down(sqlite3.OperationalError("database is locked"), "queue")
    outages.up("database", wrote=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "invoicekit.outage"]
    assert [line.split(":")[0] for line in lines] == ["outage", "outage over"]
    assert not outages.is_down()


def stored(kit, key: str) -> int:
    with session_scope(kit.engine) as session:
        connection = Ledger(session).connection("acme")
        return store_delivery(Ledger(session), connection.id,
                              ParsedDelivery(key, "order.updated", "9"), b"{}", {})[0]


def age(kit, delivery_id: int, seconds: float) -> None:
    with session_scope(kit.engine) as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(
            received_at=datetime.now(UTC) - timedelta(seconds=seconds)))


def test_the_sweep_takes_a_lost_delivery_after_a_minute_but_not_a_queued_one(
        kit, woo_shop, tmp_path):
    queue = Queue(make_huey(f"sqlite:///{tmp_path / 'q.db'}"), kit.engine, kit.hooks)
    lost, waiting, young = stored(kit, "lost"), stored(kit, "waiting"), stored(kit, "young")
    age(kit, lost, 90)
    age(kit, waiting, 90)
    queue.enqueue(waiting)  # a backlog entry: in the queue, not lost
    assert queue.sweep() == 1
    assert sorted(task.args[0] for task in queue.huey.pending()) == sorted([waiting, lost])
    assert young not in queue._queued()


def test_a_delivery_the_queue_did_not_take_is_marked_and_queued_by_the_watcher(
        kit, woo_shop, tmp_path):
    queue = Queue(make_huey(f"sqlite:///{tmp_path / 'q.db'}"), kit.engine, kit.hooks)
    delivery_id = stored(kit, "k")
    real = queue.enqueue

    def down(*args, **kwargs):
        raise ConnectionRefusedError(111, "refused")

    queue.enqueue = down
    assert not queue.enqueue_or_hold(delivery_id)
    with session_scope(kit.engine) as session:
        assert session.get(Delivery, delivery_id).next_attempt_at is not None  # marked
    assert queue.requeue() == 0  # still down: marked again
    queue.enqueue = real
    assert queue.requeue() == 1
    assert [task.args[0] for task in queue.huey.pending()] == [delivery_id]
    assert take_unqueued(kit.engine) == []  # the mark is cleared


def test_a_full_disk_ends_only_with_a_write(caplog):
    """Reads go on while a disk is full: a task that only read (a delivery done already,
    the watcher finding nothing held) must not end the outage, or it would start again at
    the next write and be logged again."""
    outages = Outages()
    full = OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    outages.down(full)
    outages.up("database")
    outages.up("queue")
    assert outages.is_down("disk")
    outages.down(full)
    outages.up("database", wrote=True)
    assert not outages.is_down()
    lines = [r.getMessage() for r in caplog.records if r.name == "invoicekit.outage"]
    assert [line.split(":")[0] for line in lines] == ["outage", "outage over"]
