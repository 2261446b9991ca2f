"""Calls to a remote provider: the record is committed before the call, no lock is held
during it, a worker that died mid-call is detected by its lease, and an unknown outcome is
read back from the provider before the call is repeated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core import hookimpl
from core.context import ProviderInfo
from core.errors import OutcomeUnknown
from core.execute import LEASE, process_snapshot
from core.ledger.db import session_scope
from core.ledger.models import OperationRecord
from core.ledger.store import Ledger
from core.operations import Authorisation, Lookup, OperationKind, OperationResult
from core.retry import Backoff
from orders import snapshot

AT_ONCE = Backoff(base=0, jitter=False)  # failed operations may be retried at once


class Remote:
    """A remote provider without idempotency keys that records what it saw."""

    def __init__(self, engine, *, keys=False):
        self.engine, self.keys = engine, keys
        self.effects: list[str] = []
        self.seen_during_call: list[tuple[str, int]] = []
        self.fail_next: Exception | None = None
        self.applies_before_failing = True
        self.lookups = 0

    @hookimpl
    def declare_provider(self):
        return ProviderInfo("remote", frozenset(OperationKind), idempotency_keys=self.keys)

    @hookimpl
    def place_order(self, order, operation, ledger):
        if order.provider != "remote":
            return None
        self._effect(order, operation, ledger)
        return Authorisation(provider_reference="R-1")

    @hookimpl
    def credit_full(self, order, operation, ledger):
        if order.provider != "remote":
            return None
        self._effect(order, operation, ledger)
        return OperationResult(provider_reference="R-1")

    def _effect(self, order, operation, ledger):
        assert ledger is None
        # another connection sees the committed record, and can write: no lock is held
        with session_scope(self.engine) as session:
            record = session.scalars(select(OperationRecord).where(
                OperationRecord.idempotency_key == operation.idempotency_key)).one()
            self.seen_during_call.append((record.status, record.attempts))
            Ledger(session).journal(merchant_id=order.merchant_id, order_id=order.order_key,
                                    kind="probe", amount=0, currency="EUR",
                                    idempotency_key=f"probe{len(self.seen_during_call)}",
                                    description="written while the call runs")
        if self.fail_next is None or self.applies_before_failing:
            self.effects.append(operation.idempotency_key)
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    @hookimpl
    def lookup_operation(self, order, operation):
        if order.provider != "remote":
            return None
        self.lookups += 1
        if operation.idempotency_key in self.effects:
            result = Authorisation if operation.kind is OperationKind.PLACEMENT else \
                OperationResult
            return Lookup(applied=True, result=result(provider_reference="R-1"))
        return Lookup(applied=False)


@pytest.fixture
def remote(engine, hooks, shop):
    provider = Remote(engine)
    hooks.pm.register(provider, name="remote")
    with session_scope(engine) as session:
        Ledger(session).add_connection(name="remote-shop", merchant_id=3333,
                                       platform="generic", provider="remote",
                                       status_map={"completed": "activate"})
    return provider


def placement(engine):
    with session_scope(engine) as session:
        return session.scalars(select(OperationRecord)).one()


def test_the_record_is_committed_in_flight_before_the_call(engine, hooks, remote):
    outcome = process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    assert outcome.failure is None and outcome.status.value == "authorised"
    assert remote.seen_during_call == [("in_flight", 1)]
    record = placement(engine)
    assert (record.status, record.claimed_at, record.provider_reference) == (
        "succeeded", None, "R-1")


def test_unknown_outcome_is_read_back_and_not_sent_again(engine, hooks, remote):
    remote.fail_next = OutcomeUnknown("read timeout")
    first = process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    assert first.failure is not None and not first.failure.permanent
    assert placement(engine).uncertain
    second = process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    assert second.failure is None and second.status.value == "authorised"
    assert len(remote.effects) == 1 and remote.lookups == 1
    assert not placement(engine).uncertain


def test_a_provider_with_idempotency_keys_is_simply_called_again(engine, hooks, remote):
    remote.keys = True
    remote.fail_next = OutcomeUnknown("read timeout")
    process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    assert process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE).failure is None
    assert remote.lookups == 0 and len(remote.effects) == 2  # the same key, twice


def claimed(engine, ago: timedelta) -> None:
    with session_scope(engine) as session:
        session.execute(update(OperationRecord).values(
            status="in_flight", claimed_at=datetime.now(UTC) - ago))


def test_an_operation_in_flight_elsewhere_is_not_started_twice(engine, hooks, remote):
    remote.fail_next = OutcomeUnknown("read timeout")
    process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    claimed(engine, timedelta(seconds=5))  # another worker is calling right now
    busy = process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    assert "carried out by another worker" in busy.failure.error
    assert not busy.failure.permanent and len(remote.effects) == 1


def test_a_worker_that_died_mid_call_leaves_an_unknown_outcome(engine, hooks, remote):
    process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    # as if the worker had died after the provider applied it: in flight, lease run out
    claimed(engine, LEASE + timedelta(seconds=1))
    outcome = process_snapshot(engine, hooks, snapshot(shop="remote-shop", minutes=1), AT_ONCE)
    assert remote.lookups == 1 and len(remote.effects) == 1
    assert outcome.failure is None


def test_the_last_allowed_attempt_ends_dead_with_the_count(engine, hooks, remote):
    remote.applies_before_failing = False
    for attempt in range(1, 4):
        remote.fail_next = OutcomeUnknown("502 from the gateway")
        outcome = process_snapshot(engine, hooks, snapshot(shop="remote-shop"),
                                   Backoff(base=0, max_attempts=3))
        assert outcome.failure.permanent == (attempt == 3)
        assert not outcome.failure.waiting
    record = placement(engine)
    assert record.status == "dead"
    assert record.error == "gave up after 3 attempts: 502 from the gateway"
    assert not remote.effects and remote.lookups == 2  # each repeat was checked first


def test_a_lookup_nobody_answers_ends_dead_asking_the_merchant_to_check(engine, hooks,
                                                                          remote):
    remote.fail_next = OutcomeUnknown("read timeout")
    process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    hooks.pm.unregister(remote)

    class WithoutLookup:
        @hookimpl
        def declare_provider(self):
            return ProviderInfo("remote", frozenset(OperationKind))

        @hookimpl
        def place_order(self, order):
            return OperationResult() if order.provider == "remote" else None

    hooks.pm.register(WithoutLookup(), name="without-lookup")
    outcome = process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    assert outcome.failure.permanent and "check the order at the provider" in \
        outcome.failure.error


def test_a_provider_event_waits_while_an_operation_of_its_order_is_unfinished(
        engine, hooks, remote):
    """Billie's order_canceled webhook may be the echo of our own cancel, still in flight or
    uncertain: it must not cancel a second time."""
    from core.context import ProviderEvent
    from core.errors import RetryableError
    from core.provider_events import record_provider_event

    hooks.pm.get_plugin("remote")  # the fixture's provider
    with session_scope(engine) as session:
        Ledger(session).configure_connection(
            Ledger(session).connection("remote-shop"),
            status_map={"completed": "activate", "cancelled": "cancel"}, platform_settings={})

    def event(ledger):
        return record_provider_event(ledger, hooks, 3333, ProviderEvent(
            provider="remote", event_id="e1", kind="cancelled", provider_reference="R-1",
            occurred_at=datetime.now(UTC)))

    process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE)
    remote.fail_next = OutcomeUnknown("read timeout")  # our cancel: applied, answer lost
    cancel = snapshot(shop="remote-shop", status="cancelled", minutes=1)
    assert process_snapshot(engine, hooks, cancel, AT_ONCE).failure is not None
    with pytest.raises(RetryableError, match="waits for operation"), \
            session_scope(engine) as session:
        event(Ledger(session))
    assert process_snapshot(engine, hooks, cancel, AT_ONCE).failure is None  # found applied
    with session_scope(engine) as session:
        assert event(Ledger(session)) == "cancelled journalled"  # nothing left to cancel
        ledger = Ledger(session)
        state = ledger.state_of(ledger.find_order("remote-shop", "1001"))
    assert (state.status.value, state.reduced, state.authorised) == ("voided", 549_73, 549_73)


def test_a_failed_operation_waits_for_its_backoff_whoever_asks(engine, hooks, remote):
    """Eight deliveries of one order arriving right after a 429 with Retry-After must not
    spend the operation's attempts: it waits, and the deliveries with it."""
    from core.errors import RetryableError

    remote.applies_before_failing = False
    remote.fail_next = RetryableError("429 from the provider", retry_after=120)
    first = process_snapshot(engine, hooks, snapshot(shop="remote-shop"))
    assert first.failure.retry_after >= 120 and not first.failure.waiting
    for minutes in range(1, 9):
        later = process_snapshot(engine, hooks, snapshot(shop="remote-shop", minutes=minutes))
        assert later.failure.waiting and 100 < later.failure.retry_after <= 120
        assert "waits until" in later.failure.error
    record = placement(engine)
    assert (record.status, record.attempts, remote.effects) == ("failed", 1, [])
    assert process_snapshot(engine, hooks, snapshot(shop="remote-shop"), AT_ONCE).failure \
        is not None  # AT_ONCE does not shorten a wait already set ...
    with session_scope(engine) as session:  # ... but time passing does
        session.execute(update(OperationRecord).values(
            next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert process_snapshot(engine, hooks, snapshot(shop="remote-shop")).failure is None
