"""The queue's guarantees across consumers: a delivery is processed by one worker at a time,
a periodic task runs once per schedule, the sweep leaves held deliveries alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from huey import crontab

from core.context import ParsedDelivery
from core.inbox import _claim, due_deliveries, process_delivery, store_delivery
from core.ledger.db import session_scope
from core.ledger.models import Delivery
from core.ledger.store import Ledger
from core.queue import Queue, make_huey


def stored(kit, key: str = "k1") -> int:
    with session_scope(kit.engine) as session:
        connection = Ledger(session).connection("acme")
        return store_delivery(Ledger(session), connection.id,
                              ParsedDelivery(key, "order.updated", "9"), b"{}", {})[0]


def test_a_delivery_held_by_one_worker_is_left_alone_by_another(kit, woo_shop):
    delivery_id = stored(kit)
    with _claim(kit.engine, delivery_id) as finishing:
        assert finishing is not None
        result = process_delivery(kit.engine, kit.hooks, delivery_id)
        assert (result.status, result.error) == ("busy", "another worker is processing it")
        assert due_deliveries(kit.engine, older_than=timedelta(0)) == []
    with session_scope(kit.engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert (delivery.status, delivery.attempts) == ("pending", 0)  # untouched
    assert due_deliveries(kit.engine, older_than=timedelta(0)) == [delivery_id]
    assert process_delivery(kit.engine, kit.hooks, delivery_id).status != "busy"


def test_a_periodic_run_is_claimed_once_per_spacing(kit):
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    spacing = timedelta(seconds=30)

    def claim(at: datetime) -> bool:
        with session_scope(kit.engine) as session:
            return Ledger(session).start_periodic_run("tick", at, spacing)

    assert claim(start)
    assert not claim(start)  # a second consumer, same minute
    assert not claim(start + timedelta(seconds=29))
    assert claim(start + timedelta(seconds=60))
    assert not claim(start + timedelta(seconds=61))


def test_a_periodic_task_enqueued_by_every_consumer_runs_once(kit):
    runs = []
    consumers = [Queue(make_huey("memory://"), kit.engine, kit.hooks) for _ in range(3)]
    tasks = [queue.periodic(crontab(minute="*"), "count", lambda: runs.append(1))
             for queue in consumers]
    for task in tasks:  # each consumer's scheduler enqueues it; memory huey runs it at once
        task()
    assert runs == [1]


def test_deliveries_processed_while_a_send_task_waits_queue_no_other(kit, woo_shop, tmp_path):
    from huey import SqliteHuey

    queue = Queue(SqliteHuey("t", filename=str(tmp_path / "q.db")), kit.engine, kit.hooks)
    sends = lambda: sum(task.name == "send_writebacks" for task in queue.huey.pending())  # noqa: E731
    for key in ("k1", "k2", "k3"):
        queue._run(stored(kit, key))
    assert sends() == 1  # the one queued sends what all three left when it runs
    queue.send_writebacks()  # it runs (here, in this thread): the next delivery asks anew
    queue._run(stored(kit, "k4"))
    assert sends() == 2
