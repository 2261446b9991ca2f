"""Executing decisions: keys before calls, failures and retries, observers, no double effect."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import hookimpl
from core.context import ProviderInfo
from core.errors import PermanentError, RetryableError
from core.execute import process_snapshot
from core.hooks import Hooks
from core.ledger.db import session_scope
from core.ledger.models import Invoice, Movement, OperationRecord
from core.ledger.store import Ledger
from core.operations import Authorisation, OperationKind, OperationResult
from core.plugins import get_plugin_manager
from core.retry import Backoff
from core.state import Status
from orders import order_data, snapshot

AT_ONCE = Backoff(base=0, jitter=False)  # failed operations may be retried at once


class Recorder:
    """An observer plugin that remembers what it was told."""

    def __init__(self):
        self.events = []

    @hookimpl
    def operation_succeeded(self, operation, result):
        self.events.append(("ok", operation.kind.value))

    @hookimpl
    def operation_failed(self, operation, error, permanent):
        self.events.append(("failed", operation.kind.value, permanent))

    @hookimpl
    def change_refused(self, refusal):
        self.events.append(("refused", refusal.reason))


class Flaky:
    """A provider named ``flaky`` whose activation fails ``failures`` times."""

    def __init__(self, failures, error=RetryableError):
        self.failures, self.error, self.calls = failures, error, []

    @hookimpl
    def declare_provider(self):
        return ProviderInfo("flaky", frozenset(OperationKind), remote=False)

    @hookimpl
    def place_order(self, order, operation):
        if order.provider == "flaky":
            return Authorisation(provider_reference="F-1")

    @hookimpl
    def activate_order(self, order, operation, ledger):
        if order.provider != "flaky":
            return None
        self.calls.append(operation.idempotency_key)
        ledger.journal(merchant_id=order.merchant_id, order_id=order.order_key,
                       kind=f"try{len(self.calls)}",
                       amount=operation.amount.gross, currency="EUR",
                       idempotency_key=operation.idempotency_key, description="written")
        if self.failures:
            self.failures -= 1
            raise self.error("provider answered 503")
        return OperationResult(provider_reference="F-INV")


@pytest.fixture
def recorder(hooks):
    recorder = Recorder()
    hooks.pm.register(recorder, name="recorder")
    return recorder


def count(engine, model):
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_duplicate_snapshot_has_no_second_effect(feed, engine, recorder):
    for _ in range(3):
        feed(snapshot(status="completed"))
    assert count(engine, OperationRecord) == 2
    assert count(engine, Invoice) == 1
    assert count(engine, Movement) == 3  # authorisation, invoice and the fee on it
    assert recorder.events == [("ok", "placement"), ("ok", "activation")]


def flaky_shop(engine, provider):
    with session_scope(engine) as session:
        Ledger(session).add_connection(name="flakyshop", merchant_id=3333, platform="generic",
                                       provider=provider,
                                       status_map={"completed": "activate", "cancelled": "cancel"})


def test_failed_operation_is_retried_with_the_same_key(engine, hooks, shop, recorder):
    flaky = Flaky(failures=2)
    hooks.pm.register(flaky, name="flaky")
    flaky_shop(engine, "flaky")
    order = snapshot(status="completed", shop="flakyshop")
    outcomes = []
    for _ in range(3):
        outcomes.append(process_snapshot(engine, hooks, order, AT_ONCE))
    assert [o.failure is not None for o in outcomes] == [True, True, False]
    assert not outcomes[0].failure.permanent
    assert outcomes[0].status is Status.AUTHORISED and outcomes[2].status is Status.ACTIVE
    assert len(set(flaky.calls)) == 1 and len(flaky.calls) == 3
    with session_scope(engine) as session:
        record = session.scalars(select(OperationRecord).where(
            OperationRecord.kind == "activation")).one()
        assert (record.status, record.attempts, record.error) == ("succeeded", 3, None)
        # the failed attempts' ledger writes were rolled back with their savepoint
        assert session.scalars(select(Movement.kind)).all() == ["try3"]
    assert recorder.events.count(("failed", "activation", False)) == 2


def test_permanent_failure_is_dead_with_its_reason(engine, hooks, shop, recorder):
    hooks.pm.register(Flaky(failures=1, error=PermanentError), name="flaky")
    flaky_shop(engine, "flaky")
    outcome = process_snapshot(engine, hooks,
                               snapshot(status="completed", shop="flakyshop"))
    assert outcome.failure.permanent
    with session_scope(engine) as session:
        record = session.scalars(select(OperationRecord).where(
            OperationRecord.kind == "activation")).one()
        assert record.status == "dead" and "503" in record.error


def test_unknown_provider_is_a_dead_operation_not_a_crash(engine, hooks, shop):
    flaky_shop(engine, "nobody")
    outcome = process_snapshot(engine, hooks, snapshot(shop="flakyshop"), AT_ONCE)
    assert outcome.failure.permanent
    assert "no provider plugin named 'nobody'" in outcome.failure.error


def test_stale_snapshot_changes_nothing(feed, engine):
    feed(snapshot(status="completed", minutes=10))
    outcome = feed(snapshot(status="cancelled", minutes=5))
    assert outcome.stale and outcome.executed == ()
    assert outcome.status is Status.ACTIVE


def test_declined_order_stays_declined(feed, read, recorder):
    consumer = order_data(status="completed")
    consumer["buyer"]["company"] = None
    from core.schemas import load_snapshot

    outcome = feed(load_snapshot(consumer))
    assert outcome.status is Status.DECLINED
    assert outcome.decline_reason == "not_a_business"
    assert [op.kind for op in outcome.executed] == [OperationKind.PLACEMENT]
    assert feed(load_snapshot(consumer)).executed == ()
    journal = read(lambda ledger: [(m.kind, m.amount) for m in
                                   ledger.movements_of(ledger.find_order("acme", "1001"))])
    assert journal == [("declined", 0)]


def test_refusal_is_reported_once(feed, recorder):
    from orders import OFFICE_LINES

    feed(snapshot(status="completed"))
    more = [*OFFICE_LINES, ("9", "product", "Stapler", 1, "20.00", "19")]
    feed(snapshot(status="completed", lines=more, minutes=1))
    feed(snapshot(status="completed", lines=more, minutes=2))
    assert recorder.events.count(("refused", "increase")) == 1


def test_hooks_refuse_a_result_of_the_wrong_type(engine, shop):
    class Wrong:
        @hookimpl
        def place_order(self, order):
            return "yes" if order.provider == "wrong" else None

    hooks = Hooks(get_plugin_manager())
    hooks.pm.register(Wrong(), name="wrong")
    flaky_shop(engine, "wrong")
    outcome = process_snapshot(engine, hooks, snapshot(shop="flakyshop"), AT_ONCE)
    assert outcome.failure.permanent and "expected Authorisation" in outcome.failure.error


def test_a_failing_observer_neither_blocks_nor_undoes_the_operation(feed, hooks, read):
    class Broken:
        @hookimpl
        def operation_succeeded(self, operation):
            raise RuntimeError("write-back is down")

    hooks.pm.register(Broken(), name="broken")
    outcome = feed(snapshot(status="completed"))
    assert outcome.failure is None and outcome.status is Status.ACTIVE
    assert read(lambda ledger: ledger.state_of(ledger.find_order("acme", "1001")).status) \
        is Status.ACTIVE


def test_dead_operation_waits_for_a_replay(engine, hooks, shop):
    from core.execute import replay_order

    flaky = Flaky(failures=1, error=PermanentError)
    hooks.pm.register(flaky, name="flaky")
    flaky_shop(engine, "flaky")
    order = snapshot(status="completed", shop="flakyshop")
    for _ in range(2):
        outcome = process_snapshot(engine, hooks, order, AT_ONCE)
        assert outcome.failure.permanent and outcome.status is Status.AUTHORISED
    assert len(flaky.calls) == 1, "a dead operation was tried again without a replay"
    outcome = replay_order(engine, hooks, "flakyshop", "1001")
    assert outcome.failure is None and outcome.status is Status.ACTIVE
    assert len(set(flaky.calls)) == 1 and len(flaky.calls) == 2


def test_status_map_must_name_known_triggers(engine, shop):
    from core.errors import ConfigurationError

    with session_scope(engine) as session, pytest.raises(ConfigurationError, match="shipped"):
        Ledger(session).add_connection(name="typo", merchant_id=3333, platform="generic",
                                       status_map={"shipped": "activte"})


def test_an_order_without_articles_is_not_voided_at_once(feed):
    fees_only = [("svc", "fee", "Consulting", 1, "100.00", "19")]
    outcome = feed(snapshot(lines=fees_only, discounts=[]))
    assert outcome.status is Status.AUTHORISED


def test_stale_snapshot_after_a_failure_is_still_stale(engine, hooks, shop, recorder):
    hooks.pm.register(Flaky(failures=5), name="flaky")
    flaky_shop(engine, "flaky")
    newer = snapshot(status="completed", shop="flakyshop", minutes=10)
    assert process_snapshot(engine, hooks, newer, AT_ONCE).failure is not None
    from orders import OFFICE_LINES

    older = snapshot(shop="flakyshop", minutes=5, lines=[*OFFICE_LINES,
                     ("9", "product", "Stapler", 1, "20.00", "19")])
    outcome = process_snapshot(engine, hooks, older, AT_ONCE)
    assert outcome.stale
    assert not [e for e in recorder.events if e[0] == "refused"]


def test_a_failed_operation_is_finished_before_anything_new(engine, hooks, shop):
    """A refund credit that timed out is retried as decided, before a cancel is decided."""
    flaky = Flaky(failures=0)
    hooks.pm.register(flaky, name="flaky")
    flaky_shop(engine, "flaky")
    from orders import changed

    completed = order_data(status="completed", shop="flakyshop")
    process_snapshot(engine, hooks, load(completed), AT_ONCE)

    class TimesOutOnce:
        calls = 0

        @hookimpl
        def credit_partial(self, order, operation):
            self.calls += 1
            if self.calls == 1:
                raise RetryableError("read timeout")
            return OperationResult()

        @hookimpl
        def credit_full(self, order, operation):
            return OperationResult()

    timeouts = TimesOutOnce()
    hooks.pm.register(timeouts, name="timeouts")
    refunded = changed(completed, ordering_key="2026-11-03T10:00:00+00:00",
                       refunds=[{"refund_id": "r1", "amount": "100.00"}])
    assert process_snapshot(engine, hooks, load(refunded), AT_ONCE).failure is not None
    cancelled = changed(refunded, status="cancelled", ordering_key="2026-11-04T10:00:00+00:00")
    outcome = process_snapshot(engine, hooks, load(cancelled), AT_ONCE)
    assert [(op.kind.value, op.amount.gross) for op in outcome.executed] == [
        ("partial_credit", 100_00), ("full_credit", 449_73)]
    assert outcome.status is Status.CREDITED


def load(data):
    from core.schemas import load_snapshot

    return load_snapshot(data)


def test_every_observer_hears_even_when_another_fails(feed, hooks, recorder):
    class Broken:
        @hookimpl
        def operation_succeeded(self, operation):
            raise RuntimeError("metrics are down")

    hooks.pm.register(Broken(), name="broken-first")
    feed(snapshot())
    assert ("ok", "placement") in recorder.events


def test_an_operation_the_provider_does_not_declare_is_dead_not_attempted(engine, hooks, shop):
    class NoDiscounts(Flaky):
        @hookimpl
        def declare_provider(self):
            return ProviderInfo("flaky", frozenset({OperationKind.PLACEMENT,
                                                    OperationKind.FULL_CREDIT}))

    provider = NoDiscounts(failures=0)
    hooks.pm.register(provider, name="flaky")
    flaky_shop(engine, "flaky")
    outcome = process_snapshot(engine, hooks,
                               snapshot(status="completed", shop="flakyshop"))
    assert outcome.failure.permanent and "does not support activation" in outcome.failure.error
    assert provider.calls == []
