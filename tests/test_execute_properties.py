"""Property tests of execution against a provider that fails: timeouts after the effect,
errors before it, retries. No key may get a second effect, nothing may be credited above
what was activated, and the ledger must settle where the shop is (I2, I3, I4)."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import hookimpl
from core.context import ProviderInfo
from core.errors import OutcomeUnknown, RetryableError
from core.execute import process_snapshot
from core.hooks import Hooks
from core.ledger.db import make_engine, session_scope
from core.ledger.models import Base
from core.ledger.store import Ledger
from core.operations import Authorisation, Lookup, OperationKind, OperationResult
from core.plugins import get_plugin_manager
from core.retry import Backoff
from test_reconcile_properties import EVENTS, carts, history

SHOPS = itertools.count()
PATIENT = Backoff(base=0, max_attempts=10**6)  # this test retries at once until it works


class Remote:
    """A provider without idempotency keys that fails before or after applying a request;
    a request applied twice is a double effect, which the test must never see."""

    def __init__(self, rnd: random.Random, failure_rate: float) -> None:
        self.rnd, self.failure_rate = rnd, failure_rate
        self.effects: dict[str, tuple[str, int]] = {}

    def _call(self, operation):
        if self.rnd.random() < self.failure_rate:
            raise RetryableError("connection refused: the request never arrived")
        key = operation.idempotency_key
        assert key not in self.effects, "I2: a second effect for one key"
        self.effects[key] = (operation.kind.value, operation.amount.gross)
        if self.rnd.random() < self.failure_rate:
            raise OutcomeUnknown("read timeout after the provider applied the request")
        return OperationResult(provider_reference=key[:8])

    @hookimpl
    def lookup_operation(self, order, operation):
        if order.provider != "remote":
            return None
        applied = operation.idempotency_key in self.effects
        reference = "R1" if operation.kind is OperationKind.PLACEMENT else \
            operation.idempotency_key[:8]
        result = Authorisation(provider_reference=reference) \
            if operation.kind is OperationKind.PLACEMENT else \
            OperationResult(provider_reference=reference)
        return Lookup(applied=applied, result=result if applied else None)

    @hookimpl
    def declare_provider(self):
        return ProviderInfo("remote", frozenset(OperationKind))

    @hookimpl
    def place_order(self, order, operation):
        if order.provider == "remote":
            self._call(operation)
            return Authorisation(provider_reference="R1")

    def _op(self, order, operation):
        return self._call(operation) if order.provider == "remote" else None

    @hookimpl
    def activate_order(self, order, operation):
        return self._op(order, operation)

    @hookimpl
    def credit_full(self, order, operation):
        return self._op(order, operation)

    @hookimpl
    def credit_partial(self, order, operation):
        return self._op(order, operation)

    @hookimpl
    def transfer_discount(self, order, operation):
        return self._op(order, operation)

    @hookimpl
    def handle_return(self, order, operation):
        return self._op(order, operation)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('props') / 'kit.db'}")
    Base.metadata.create_all(engine)
    with session_scope(engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(id=1, name="M", country="DE", account_holder="M",
                            bank_code="10020030", account_first=1, account_last=10**6,
                            kyc_verified=True)
    return engine


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(carts(), EVENTS, st.integers(0, 2**32), st.sampled_from([0.0, 0.2, 0.4]))
def test_failures_never_double_or_over_credit(engine, lines, events, seed, failure_rate):
    rnd = random.Random(seed)
    remote = Remote(rnd, failure_rate)
    hooks = Hooks(get_plugin_manager())
    hooks.pm.register(remote)
    shop = f"shop{next(SHOPS)}"
    with session_scope(engine) as session:
        Ledger(session).add_connection(name=shop, merchant_id=1, platform="generic",
                                       provider="remote",
                                       status_map={"completed": "activate",
                                                   "cancelled": "cancel"})
    snapshots, shop_state = history(lines, events)
    snapshots = [replace(s, shop=shop) for s in snapshots]
    deliveries = list(snapshots)
    for _ in range(len(snapshots)):  # some duplicates and late, stale copies
        deliveries.insert(rnd.randrange(len(deliveries) + 1), rnd.choice(snapshots))
    queue = [*deliveries, snapshots[-1]]
    for _ in range(50 * len(queue)):  # a failed delivery is retried later, others go on
        if not queue:
            break
        snapshot = queue.pop(0)
        outcome = process_snapshot(engine, hooks, snapshot, PATIENT)
        if outcome.failure is not None:
            assert not outcome.failure.permanent
            queue.insert(rnd.randrange(len(queue) + 1), snapshot)
    else:
        pytest.fail("deliveries never succeeded")
    remote.failure_rate = 0  # the shop's final state arrives once more, and works
    assert process_snapshot(engine, hooks, snapshots[-1], PATIENT).failure is None

    with session_scope(engine) as session:
        ledger = Ledger(session)
        order = ledger.find_order(shop, "1")
        state = ledger.state_of(order)
    activated = sum(g for k, g in remote.effects.values() if k == "activation")
    credited = sum(g for k, g in remote.effects.values()
                   if k not in ("placement", "activation"))
    assert credited == state.reduced + state.credited
    assert state.credited <= state.activated == activated
    final = snapshots[-1]
    if state.status.is_open and not shop_state.increased:
        assert state.open_amount == final.total - final.refund_total
    net = sum(a.net for _, a in state.open_by_rate)
    tax = sum(a.tax for _, a in state.open_by_rate)
    assert net + tax == state.open_amount
