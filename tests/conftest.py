"""Shared fixtures: a migrated ledger database, the plugin manager, a merchant and a shop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.hooks import Hooks
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.plugins import get_plugin_manager
from testkit.pytest_plugin import migrated_engine

pytest_plugins = ["timeline"]  # the purchase timeline fixtures: buy, tick, configure

MERCHANT_ID = 3333
STATUS_MAP = {"completed": "activate", "cancelled": "cancel", "refunded": "cancel"}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh database: ``INVOICEKIT_TEST_DATABASE_URL`` (PostgreSQL) or a SQLite file."""
    return os.environ.get("INVOICEKIT_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'kit.db'}"


@pytest.fixture
def queue_url() -> str | None:
    """The queue for the kit: ``INVOICEKIT_TEST_QUEUE_URL`` (Redis), else none is given
    (in-process tests use huey's memory queue, real processes the instance's SQLite queue)."""
    return os.environ.get("INVOICEKIT_TEST_QUEUE_URL") or None


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = migrated_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def hooks() -> Hooks:
    return Hooks(get_plugin_manager())


def add_local_shop(ledger: Ledger) -> None:
    """Merchant 3333 with a WooCommerce-style shop ``acme`` on the local provider."""
    ledger.add_merchant(id=MERCHANT_ID, name="ACME Office GmbH", country="DE",
                        account_holder="invoicekit Treuhand", bank_code="10020030",
                        bic="ABCDDEFFXXX", account_first=4_000_000_000,
                        account_last=4_000_009_999, kyc_verified=True)
    ledger.add_connection(name="acme", merchant_id=MERCHANT_ID, platform="woocommerce",
                          status_map=STATUS_MAP)


@pytest.fixture
def shop(engine: Engine) -> str:
    """Merchant 3333 with a WooCommerce-style shop ``acme`` on the local provider."""
    with session_scope(engine) as session:
        add_local_shop(Ledger(session))
    return "acme"


@pytest.fixture
def feed(engine: Engine, hooks: Hooks, shop: str):
    """Process one snapshot in its own transaction, as the queue consumer will."""
    from core.execute import process_snapshot

    def feed(snapshot):
        return process_snapshot(engine, hooks, snapshot)

    return feed


@pytest.fixture
def read(engine: Engine):
    """Run a function against the ledger in a read-only transaction and return its result."""

    def read(function):
        with session_scope(engine) as session:
            return function(Ledger(session))

    return read


WOO_SECRET = "wc-secret-&amp;-1"
WOO_SETTINGS = {"payment_methods": ["invoice"], "rest_url": "https://shop.example-b2b.de",
                "consumer_key": "ck_test", "consumer_secret": "cs_test"}


@pytest.fixture
def kit(tmp_path: Path, engine: Engine, queue_url: str | None):
    """A kit on the test database whose queue runs each task at once: huey's memory queue
    in immediate mode, or the test queue (Redis) drained after every enqueue, as a consumer
    would, so that every task makes the round trip through the real storage."""
    from core.config import Settings
    from core.kit import Kit

    settings = Settings(home=tmp_path, database_url=str(engine.url.render_as_string(
        hide_password=False)), queue_url=queue_url or "memory://")
    kit = Kit.create(settings)
    if queue_url:
        kit.queue.huey.flush()
        run_at_once(kit.queue)
    yield kit
    kit.engine.dispose()


def run_at_once(queue) -> None:
    """Make ``queue.enqueue`` (and ``queue.start``, which queues the orders it takes back)
    run every task that is ready, through the queue's storage."""
    enqueue, start, draining = queue.enqueue, queue.start, []

    def drain() -> None:
        if draining:  # a task enqueueing another: the loop below runs it
            return
        draining.append(True)
        try:
            while queue.huey.pending_count():  # (an empty Redis dequeue blocks a second)
                queue.huey.execute(queue.huey.dequeue())
        finally:
            draining.clear()

    def enqueue_and_run(delivery_id: int, delay: float | None = None, waited: int = 0) -> None:
        enqueue(delivery_id, delay, waited)
        drain()

    def start_and_run(home, role):
        orders = start(home, role)
        drain()
        return orders

    queue.enqueue, queue.start = enqueue_and_run, start_and_run


def add_acme(ledger: Ledger) -> None:
    """Merchant 3333, ACME Office GmbH: KYC-verified, with an account range for IBANs."""
    ledger.add_merchant(id=MERCHANT_ID, name="ACME Office GmbH", country="DE",
                        account_holder="ACME Receivables", bank_code="10020030",
                        account_first=4_000_000_000, account_last=4_000_009_999,
                        kyc_verified=True)


@pytest.fixture
def woo_shop(kit) -> str:
    """Merchant 3333 with the WooCommerce shop ``acme`` (REST credentials set)."""
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        add_acme(ledger)
        ledger.add_connection(name="acme", merchant_id=MERCHANT_ID, platform="woocommerce",
                              status_map={"completed": "activate", "cancelled": "cancel",
                                          "refunded": "cancel"},
                              secrets=[WOO_SECRET], platform_settings=WOO_SETTINGS)
    return "acme"


@pytest.fixture
def client(kit, woo_shop):
    from webhooks import create_app

    return create_app({"TESTING": True}, kit=kit).test_client()
