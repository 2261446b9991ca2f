"""The kit's pytest plugin (entry point ``pytest11``: loaded wherever invoicekit is
installed): fixtures for testing a plugin inside a real kit.

* ``invoicekit_hooks`` — the hooks of every installed plugin (yours included, once
  installed with ``pip install -e``), as the kit calls them;
* ``invoicekit_engine`` — a migrated ledger: a temporary SQLite file, or the database in
  ``INVOICEKIT_TEST_DATABASE_URL`` (its tables are dropped first);
* ``invoicekit_ledger`` — a :class:`~core.ledger.store.Ledger` in a transaction on it,
  committed at the end of the test;
* ``invoicekit_kit``, ``invoicekit_client`` — the kit on that ledger with an in-memory
  queue that runs each task at once, and a Flask test client of its receiver;
* ``invoicekit_shop`` — a function connecting a shop of your platform to merchant 3333
  (created on first use) with the secrets you give; returns the delivery URL's path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from core.config import Settings
from core.hooks import Hooks
from core.kit import Kit
from core.ledger.db import make_engine, session_scope, upgrade
from core.ledger.models import Base, Merchant
from core.ledger.store import Ledger
from core.plugins import get_plugin_manager

MERCHANT_ID = 3333


@pytest.fixture
def invoicekit_hooks() -> Hooks:
    return Hooks(get_plugin_manager())


def migrated_engine(url: str) -> Engine:
    """An engine on ``url`` with the ledger's schema migrated from scratch (a PostgreSQL
    database's tables are dropped first)."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(engine)
    return engine


@pytest.fixture
def invoicekit_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = migrated_engine(os.environ.get("INVOICEKIT_TEST_DATABASE_URL")
                             or f"sqlite:///{tmp_path / 'kit.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def invoicekit_ledger(invoicekit_engine: Engine) -> Iterator[Ledger]:
    with session_scope(invoicekit_engine) as session:
        yield Ledger(session)


@pytest.fixture
def invoicekit_kit(tmp_path: Path, invoicekit_engine: Engine) -> Iterator[Kit]:
    url = invoicekit_engine.url.render_as_string(hide_password=False)
    kit = Kit.create(Settings(home=tmp_path, database_url=url, queue_url="memory://"))
    yield kit
    kit.engine.dispose()


@pytest.fixture
def invoicekit_client(invoicekit_kit: Kit) -> FlaskClient:
    from webhooks import create_app

    return create_app({"TESTING": True}, kit=invoicekit_kit).test_client()


@pytest.fixture
def invoicekit_shop(invoicekit_kit: Kit) -> Callable[..., str]:
    def connect(platform: str, secrets: Sequence[str], *, name: str = "contract-shop",
                settings: Mapping[str, Any] | None = None,
                status_map: Mapping[str, str] | None = None) -> str:
        with session_scope(invoicekit_kit.engine) as session:
            ledger = Ledger(session)
            if session.get(Merchant, MERCHANT_ID) is None:
                ledger.add_merchant(id=MERCHANT_ID, name="Contract GmbH", country="DE",
                                    account_holder="Contract GmbH", bank_code="10020030",
                                    account_first=4_000_000_000, account_last=4_000_009_999,
                                    kyc_verified=True)
            info = invoicekit_kit.hooks.platforms()[platform]
            ledger.add_connection(name=name, merchant_id=MERCHANT_ID, platform=platform,
                                  status_map=dict(status_map or info.status_map),
                                  secrets=list(secrets), platform_settings=dict(settings or {}))
        return f"/webhooks/{platform}/{name}"

    return connect
