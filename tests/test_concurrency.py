"""Production mode as real processes: gunicorn receivers and ``invoicekit worker`` consumers
on one PostgreSQL ledger and one Redis queue.

1,000 WooCommerce deliveries for 100 orders (four changes each, every delivery sent two or
three times, all shuffled) go to two gunicorn workers from eight client threads, while two
consumer processes race for them; or one consumer is killed with SIGKILL (or stopped with
SIGTERM) mid-batch and another started. Either way every change has exactly one effect and
no delivery is dead. Receivers stopped with SIGTERM under load lose no accepted delivery.
"""

from __future__ import annotations

import http.client
import json
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.ledger.db import session_scope
from core.ledger.models import Delivery, Invoice, Movement, OperationRecord, Order
from servers import free_port, invoicekit, kit_env, wait_until
from woo import body, headers, order, with_refund

SECRET = "concurrency-secret"
ORDERS = 100
TOTAL = 54973  # one order: 549.73 EUR
REFUNDS = {"r1": 5000, "r2": 3000}  # minor units, credited after activation

pytestmark = pytest.mark.slow


@pytest.fixture
def production(engine, queue_url, database_url, tmp_path):
    """The environment of the kit's processes; PostgreSQL and Redis only."""
    if engine.dialect.name != "postgresql" or not (queue_url or "").startswith("redis"):
        pytest.skip("needs INVOICEKIT_TEST_DATABASE_URL (PostgreSQL) and "
                    "INVOICEKIT_TEST_QUEUE_URL (Redis)")
    env = kit_env(tmp_path / "instance", database_url, queue_url)
    invoicekit(env, "merchants", "add", "3333", "--name", "ACME Office GmbH",
               "--kyc-verified")
    invoicekit(env, "shops", "add", "woocommerce", "acme", "--merchant", "3333",
               "--secret", SECRET)
    # one buyer places every order: a limit all of them fit in
    invoicekit(env, "risk", "policy", "--initial-limit", "100000.00")
    return env


class Processes:
    """The kit's processes of one test, stopped at its end."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder, self.running = env, folder, []

    def start(self, name: str, *args: str) -> tuple[subprocess.Popen, Path]:
        log = self.folder / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen([sys.executable, "-m", *args], env=self.env,
                                       stdout=out, stderr=subprocess.STDOUT)
        self.running.append(process)
        return process, log

    def gunicorn(self, workers: int = 2) -> int:
        port = free_port()
        self.start("gunicorn", "gunicorn", "--workers", str(workers), "--bind",
                   f"127.0.0.1:{port}", "webhooks:create_app()")
        wait_until(lambda: ready(port), timeout=60)
        return port

    def worker(self, name: str) -> subprocess.Popen:
        process, log = self.start(name, "webhooks.cli", "worker")
        wait_until(lambda: b"queued again" in log.read_bytes(), timeout=60)
        return process

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def processes(production, tmp_path):
    processes = Processes(production, tmp_path)
    yield processes
    processes.stop()


def ready(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def changes(order_id: int) -> list[bytes]:
    """An order's four changes: placed, completed, refunded twice (each a full snapshot)."""
    placed = order(order_id, status="processing", modified="2026-11-02T09:15:00")
    completed = order(order_id, status="completed", modified="2026-11-02T09:20:00")
    first = with_refund(completed, 1, "50.00", "2026-11-02T09:25:00")
    second = with_refund(first, 2, "30.00", "2026-11-02T09:30:00")
    return [body(data) for data in (placed, completed, first, second)]


def deliveries(seed: int = 9) -> tuple[list[bytes], int]:
    """1,000 deliveries in shuffled order: 400 changes, each sent two or three times."""
    rng = random.Random(seed)
    distinct = [raw for n in range(ORDERS) for raw in changes(7000 + n)]
    sends = distinct * 2 + rng.sample(distinct, 1000 - 2 * len(distinct))
    rng.shuffle(sends)
    return sends, len(distinct)


def post_all(port: int, sends: list[bytes], clients: int = 8,
             accepted: list[int] | None = None) -> Counter:
    """Post every delivery from ``clients`` threads, each on its own connection; count the
    answers by status and body status (``"refused"`` once the server is gone), and collect
    the ids of accepted deliveries in ``accepted``."""
    answers: Counter = Counter()
    lock = threading.Lock()
    chunks = [sends[n::clients] for n in range(clients)]

    def send(chunk: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for sent, raw in enumerate(chunk):
            try:
                connection.request("POST", "/webhooks/woocommerce/acme", body=raw,
                                   headers=headers(raw, SECRET))
                response = connection.getresponse()
                answer = json.loads(response.read())
            except OSError:  # the server stopped: this and the rest of the chunk
                with lock:
                    answers["refused"] += len(chunk) - sent
                return
            with lock:
                answers[(response.status, answer["status"])] += 1
                if accepted is not None and response.status == 202:
                    accepted.append(answer["delivery"])

    threads = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def finished(engine, stored: int) -> bool:
    with session_scope(engine, write=False) as session:
        counts = dict(session.execute(select(Delivery.status, func.count())
                                      .group_by(Delivery.status)).all())
    return counts.get("done", 0) + counts.get("dead", 0) == stored


def assert_exactly_one_effect_per_change(engine, stored: int) -> None:
    with session_scope(engine, write=False) as session:
        statuses = Counter(session.scalars(select(Delivery.status)))
        assert statuses == {"done": stored}, statuses
        operations = session.execute(select(OperationRecord.order_id, OperationRecord.kind,
                                            OperationRecord.source, OperationRecord.status,
                                            OperationRecord.gross)).all()
        assert {op.status for op in operations} == {"succeeded"}
        per_order = Counter(op.order_id for op in operations)
        assert len(per_order) == ORDERS and set(per_order.values()) == {4}
        effects = Counter((op.kind, op.source, op.gross) for op in operations)
        credits = {(kind, source, gross) for kind, source, gross in effects
                   if kind == "partial_credit"}
        assert credits == {("partial_credit", f"refund:{n}", gross)
                           for n, gross in ((1, REFUNDS["r1"]), (2, REFUNDS["r2"]))}
        assert Counter(kind for kind, _, _ in effects.elements()) == {
            "placement": ORDERS, "activation": ORDERS, "partial_credit": 2 * ORDERS}
        documents = Counter(session.scalars(select(Invoice.kind)))
        assert sum(documents.values()) == 3 * ORDERS  # an invoice and two credit notes each
        owed = session.execute(select(Movement.order_id, func.sum(Movement.amount))
                               .where(Movement.kind.in_(("invoice", "credit_note")))
                               .group_by(Movement.order_id)).all()
        expected = TOTAL - sum(REFUNDS.values())
        assert len(owed) == ORDERS and {int(amount) for _, amount in owed} == {expected}
        assert session.scalar(select(func.count()).select_from(Order)) == ORDERS


def test_two_receivers_and_two_consumers_race_without_double_effects(processes, engine):
    port = processes.gunicorn(workers=2)
    processes.worker("worker-1")
    processes.worker("worker-2")
    sends, stored = deliveries()
    answers = post_all(port, sends)
    assert answers == {(202, "accepted"): stored, (200, "duplicate"): len(sends) - stored}
    wait_until(lambda: finished(engine, stored), timeout=240)
    assert_exactly_one_effect_per_change(engine, stored)


def test_a_consumer_killed_mid_batch_loses_nothing(processes, engine):
    port = processes.gunicorn(workers=2)
    sends, stored = deliveries(seed=11)
    post_all(port, sends)  # a backlog: no consumer runs yet
    first = processes.worker("worker-1")

    def some_done() -> bool:
        with session_scope(engine, write=False) as session:
            return session.scalar(select(func.count()).select_from(Delivery)
                                  .where(Delivery.status == "done")) >= stored // 4

    wait_until(some_done, timeout=120)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    with session_scope(engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.status == "done")) < stored  # mid-batch
    processes.worker("worker-2")
    wait_until(lambda: finished(engine, stored), timeout=240)
    assert_exactly_one_effect_per_change(engine, stored)


def stored_ids(engine) -> set[int]:
    with session_scope(engine, write=False) as session:
        return set(session.scalars(select(Delivery.id)))


def test_receivers_stopped_with_sigterm_lose_no_accepted_delivery(processes, engine):
    port = processes.gunicorn(workers=2)
    gunicorn = processes.running[-1]
    sends = [raw for n in range(ORDERS) for raw in changes(7000 + n)]
    accepted: list[int] = []
    poster = threading.Thread(target=post_all, args=(port, sends), kwargs={"accepted": accepted})
    poster.start()
    wait_until(lambda: len(accepted) >= 50)
    gunicorn.send_signal(signal.SIGTERM)  # graceful: requests in progress are answered
    poster.join(timeout=60)
    assert gunicorn.wait(timeout=60) == 0
    assert 50 <= len(accepted) < len(sends)  # stopped mid-stream
    assert set(accepted) <= stored_ids(engine)  # every 202 was stored


def test_a_worker_stopped_with_sigterm_finishes_its_tasks(processes, engine):
    port = processes.gunicorn(workers=2)
    sends, stored = deliveries(seed=13)
    post_all(port, sends)
    worker = processes.worker("worker-1")

    def done() -> int:
        with session_scope(engine, write=False) as session:
            return session.scalar(select(func.count()).select_from(Delivery)
                                  .where(Delivery.status == "done"))

    wait_until(lambda: done() >= stored // 4, timeout=120)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    assert b"Shutting down gracefully" in (processes.folder / "worker-1.log").read_bytes()
    assert done() < stored
    processes.worker("worker-2")
    wait_until(lambda: finished(engine, stored), timeout=240)
    assert_exactly_one_effect_per_change(engine, stored)
