"""The drift of a processed order is recorded in the transaction that processed it (one
write transaction less per delivery), in a savepoint: a failure while comparing is logged
and neither fails the delivery nor undoes its processing."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

import core.inbox
from core.execute import _Run
from core.ledger.db import session_scope
from core.ledger.models import Delivery, OrderDrift
from core.ledger.store import Ledger
from recordings import SHOP, connect, post, recording


def declined_then_completed(kit) -> list[int]:
    """The recording of a declined order the shop completed anyway (it drifts)."""
    rec = recording("on-hold-then-completed")
    client = connect(kit, rec["secret"])
    with session_scope(kit.engine) as session:
        Ledger(session).configure_merchant(3333, kyc_verified=False)  # placement declined
    return post(client, rec["steps"])


def drift_and_deliveries(kit) -> tuple[list[str], set[str]]:
    with session_scope(kit.engine) as session:
        drift = list(session.scalars(select(OrderDrift.kind).where(
            OrderDrift.shop_order_id == "31", OrderDrift.resolved_at.is_(None))))
        statuses = set(session.scalars(select(Delivery.status)))
        return drift, statuses


@pytest.fixture
def sessions(monkeypatch) -> tuple[list, list]:
    """The sessions processing advanced in, and those the drift was compared in (each with
    whether it held a merchant's row)."""
    advanced: list = []
    compared: list = []
    advance, compare = _Run.advance, core.inbox.compare_processed

    def advance_seen(run, ledger):
        advanced.append(ledger.session)
        return advance(run, ledger)

    def compare_seen(ledger, *args):
        compared.append((ledger.session, ledger.holds_merchant))
        return compare(ledger, *args)

    monkeypatch.setattr(_Run, "advance", advance_seen)
    monkeypatch.setattr(core.inbox, "compare_processed", compare_seen)
    return advanced, compared


def test_the_drift_is_written_with_the_processing_not_in_a_transaction_of_its_own(
        kit, sessions):
    advanced, compared = sessions
    assert all(code in (200, 202) for code in declined_then_completed(kit))
    drift, statuses = drift_and_deliveries(kit)
    assert drift == ["status_differs"] and statuses == {"done"}
    assert compared and all(session in advanced for session, _ in compared)


def test_a_failing_comparison_is_logged_and_the_delivery_still_processed(kit, monkeypatch,
                                                                        caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("comparison broke")

    monkeypatch.setattr(core.inbox, "compare_processed", broken)
    with caplog.at_level(logging.ERROR, logger="core.inbox"):
        assert all(code in (200, 202) for code in declined_then_completed(kit))
    drift, statuses = drift_and_deliveries(kit)
    assert drift == [] and statuses == {"done"}
    assert f"recording the drift of order {SHOP}/31 failed" in caplog.text
    with session_scope(kit.engine) as session:  # the processing itself was kept
        ledger = Ledger(session)
        assert ledger.state_of(ledger.find_order(SHOP, "31")).status.value == "declined"


def test_after_an_invoice_is_numbered_postgresql_compares_once_the_number_is_free(
        kit, sessions):
    """The merchant's row stays locked from taking an invoice number to the end of the
    transaction: on PostgreSQL the comparison waits for a transaction of its own rather
    than keep the merchant's other activations waiting; on SQLite it stays inside."""
    advanced, compared = sessions
    rec = recording("on-hold-then-completed")
    assert all(code in (200, 202) for code in post(connect(kit, rec["secret"]), rec["steps"]))
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        assert ledger.state_of(ledger.find_order(SHOP, "31")).status.value == "active"
    postgresql = kit.engine.dialect.name == "postgresql"
    assert compared
    if postgresql:  # never compared while holding the merchant's numbers
        assert not any(held for _, held in compared)
        assert any(session not in advanced for session, _ in compared)
    else:
        assert all(session in advanced for session, _ in compared)
