"""Where operations are executed: reconcile a snapshot, run each operation through the hooks,
and record every outcome in the ledger.

Operations run one at a time, in the order they were decided, with the order row locked
while the ledger is read or written, so events of one order never interleave:

* an operation's record (with its idempotency key) is written before its provider is called;
* a provider that keeps its records in the ledger (the local one) runs inside the
  transaction, in a savepoint that is rolled back if the hook fails;
* for a remote provider the record is **committed** as ``in_flight`` first, the call runs
  outside any transaction (no lock is held while the network is slow), and its outcome is
  recorded in a new transaction. A worker that dies during the call leaves the record
  ``in_flight``; once its lease has run out the outcome counts as unknown;
* a call whose outcome is unknown is not simply repeated: unless the provider honours
  idempotency keys, its state is read first (``lookup_operation``) and the call is made
  only when the effect is absent.

Each lease names its owner (:func:`lease_owner`): a consumer process that took a slot of
its instance folder (``invoicekit serve``, ``invoicekit worker``, see
:class:`core.queue.Slot`) owns its leases as ``<instance>/<slot>#<generation>``, any other
process by host and process id. A consumer that starts in the slot of a run that died
takes that run's operations back at once (:func:`reclaim_leases`) instead of waiting out
the lease: they become uncertain, so the next attempt reads the provider's state first.

A failure stops the remaining operations and the state is not advanced, so the next attempt
decides the same operations with the same keys. After ``backoff.max_attempts`` failed
attempts (or at once for a permanent error) the operation is dead: nothing of its order is
tried again until :func:`replay_order` (``invoicekit operations retry``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from core.context import OrderContext, ProviderInfo
from core.errors import (
    ConfigurationError,
    OutcomeUnknown,
    PermanentError,
    RetryableError,
    describe,
)
from core.hooks import Hooks
from core.increases import declined_increases, declined_refusal
from core.ledger.db import session_scope
from core.ledger.models import OperationRecord, Order, ShopConnection
from core.ledger.store import Ledger
from core.operations import (
    Authorisation,
    Operation,
    OperationKind,
    OperationResult,
    Refusal,
)
from core.order_context import order_context
from core.reconcile import Rules, closing_operations, reconcile
from core.retry import DEFAULT_BACKOFF, Backoff
from core.risk.decide import decide_placement
from core.schemas import load_snapshot
from core.snapshot import OrderSnapshot
from core.state import OrderState, Status, apply, decline, mark_seen

__all__ = ["LEASE", "Failure", "Outcome", "close_order", "followed_refusal", "lease_owner",
           "process_snapshot", "reclaim_leases", "refuse_change",
           "replay_order", "resume_order", "set_lease_owner"]

log = logging.getLogger(__name__)

# How long a worker may be inside one provider call before others treat it as dead; far
# longer than any call's timeouts.
LEASE = timedelta(minutes=10)

_owner = f"{socket.gethostname()}:{os.getpid()}"


def lease_owner() -> str:
    """Who this process's leases belong to: its consumer slot and generation once
    :func:`set_lease_owner` was called at start-up, else its host and process id."""
    return _owner


def set_lease_owner(owner: str) -> None:
    """Name the owner of every lease this process takes from now on."""
    global _owner
    _owner = owner


@dataclass(frozen=True)
class Failure:
    """An operation that failed; ``permanent`` failures are dead until retried by hand.

    ``retry_after`` is the wait before the operation may be tried again; ``waiting`` says
    it was not tried at all this time (its backoff runs, or another worker has it).
    """

    operation: Operation
    error: str
    permanent: bool
    retry_after: float | None = None
    waiting: bool = False


@dataclass(frozen=True)
class Outcome:
    """What processing one snapshot did."""

    order_id: int | None
    status: Status | None
    currency: str
    executed: tuple[Operation, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    failure: Failure | None = None
    stale: bool = False
    decline_reason: str | None = None


@dataclass(frozen=True)
class _Call:
    """A remote provider call, claimed in the ledger and about to be made."""

    record_id: int
    claimed_at: datetime
    operation: Operation
    context: OrderContext
    provider: ProviderInfo
    uncertain: bool


@dataclass
class _Answer:
    """What a remote call came back with."""

    result: OperationResult | None = None
    failure: Failure | None = None
    uncertain: bool = False


def process_snapshot(engine: Engine, hooks: Hooks, snapshot: OrderSnapshot,
                     backoff: Backoff = DEFAULT_BACKOFF,
                     then: Callable[[Ledger, Order, ShopConnection], None] | None = None
                     ) -> Outcome:
    """Bring the order's provider in line with ``snapshot``; see the module docstring.
    ``then`` runs once it is in line (not after a failure, nor for a stale snapshot), with
    the order locked: in the same transaction, unless that one holds a lock the merchant's
    other activations wait for (PostgreSQL; SQLite has one writer at a time anyway)."""
    run = _Run(hooks, snapshot, backoff)
    while True:
        later = False
        with session_scope(engine) as session:
            ledger = Ledger(session)
            call = run.advance(ledger)
            if call is None and then is not None and run.failure is None and not run.stale:
                assert run.locked is not None
                later = ledger.holds_merchant and engine.dialect.name == "postgresql"
                if not later:
                    then(ledger, *run.locked)
        if later:
            with session_scope(engine) as session:
                ledger = Ledger(session)
                order = ledger.lock_order_by_id(run.order_id)
                then(ledger, order, order.connection)
        if call is None:
            return run.outcome()
        answer = run.call(call)  # outside any transaction
        with session_scope(engine) as session:
            if not run.settle(Ledger(session), call, answer):
                return run.outcome()


def replay_order(engine: Engine, hooks: Hooks, shop: str, shop_order_id: str,
                 backoff: Backoff = DEFAULT_BACKOFF) -> Outcome:
    """Give an order's dead operations another try by processing its newest snapshot again."""
    with session_scope(engine) as session:
        ledger = Ledger(session)
        order = ledger.find_order(shop, shop_order_id)
        ledger.reopen_dead_operations(order)
        snapshot = load_snapshot(order.snapshot)
    return process_snapshot(engine, hooks, snapshot, backoff)


def reclaim_leases(engine: Engine, predecessor: str, generation: int) -> list[int]:
    """Take back the operations an earlier run of this consumer slot left in flight: their
    lease's owner is ``<predecessor>#<n>`` with ``n`` below ``generation``, and that run
    is over (the slot is this process's now). Each becomes a failed, uncertain operation
    due at once, so its next attempt reads the provider's state before anything is
    repeated. Leases of other owners (live workers, receivers) are left to run out.
    Returns the ids of the orders concerned."""
    prefix = f"{predecessor}#"
    orders: list[int] = []
    with session_scope(engine) as session:
        for record in session.scalars(select(OperationRecord).where(
                OperationRecord.status == "in_flight").order_by(OperationRecord.id)):
            owner = (record.marks or {}).get("lease") or ""
            earlier = owner.removeprefix(prefix)
            if not owner.startswith(prefix) or not earlier.isdigit() \
                    or int(earlier) >= generation:
                continue
            record.status, record.uncertain = "failed", True
            record.claimed_at = record.next_attempt_at = None
            record.error = ("the run that was carrying it out stopped during the provider "
                            "call; the provider's state is read before it is repeated")
            log.warning("operation %s was left in flight by %s; taken back", record.id, owner)
            if record.order_id not in orders:
                orders.append(record.order_id)
    return orders


def resume_order(engine: Engine, hooks: Hooks, order_id: int,
                 backoff: Backoff = DEFAULT_BACKOFF) -> Outcome:
    """Carry on with an order's unfinished operations now (after :func:`reclaim_leases`),
    and with what its newest snapshot calls for."""
    return run_decided(engine, hooks, order_id, lambda snapshot, state: (), backoff)


def close_order(engine: Engine, hooks: Hooks, order_id: int, reason: str,
                backoff: Backoff = DEFAULT_BACKOFF) -> Outcome:
    """Cancel what is open of an order on the kit's own decision (``reason``: an
    authorisation that expired, an invoice cancelled as unpaid): full credits at the
    provider, decided once with their keys and then executed like any other operation; the
    shop hears of them through the observer hooks. The order's unfinished operations run
    first (they change what is open, and may be this very closing, recorded by a run that
    died); if one of them fails, the outcome says so and the caller tries again later."""
    return run_decided(engine, hooks, order_id,
                       lambda s, state: closing_operations(s, state, reason), backoff)


def run_decided(engine: Engine, hooks: Hooks, order_id: int,
                decide: Callable[[OrderSnapshot, OrderState], tuple[Operation, ...]],
                backoff: Backoff = DEFAULT_BACKOFF) -> Outcome:
    """Record the operations ``decide`` calls for on the order's newest snapshot and state
    (the kit's or the merchant's own decision, not the shop's), then execute them like any
    other. The order's unfinished operations run first (they change what is open); if one
    fails, the outcome says so and nothing new is decided."""
    for _ in range(2):
        with session_scope(engine) as session:
            ledger = Ledger(session)
            order = ledger.lock_order_by_id(order_id)
            snapshot = load_snapshot(order.snapshot)
            unfinished = bool(ledger.unfinished_operations(order))
            if not unfinished:
                for op in decide(snapshot, ledger.state_of(order)):
                    ledger.operation_record(order, op)
        outcome = process_snapshot(engine, hooks, snapshot, backoff)
        if outcome.failure is not None or not unfinished:
            break
    return outcome


@dataclass
class _Run:
    """The operations of one snapshot as they are executed."""

    hooks: Hooks
    snapshot: OrderSnapshot
    backoff: Backoff
    executed: list[Operation] = field(default_factory=list)
    refusals: tuple[Refusal, ...] = ()
    failure: Failure | None = None
    stale: bool = False
    decided: bool = False
    order_id: int | None = None
    # the order and its connection as the latest advance locked and read them, in its session
    locked: tuple[Order, ShopConnection] | None = None
    state: OrderState = field(default_factory=OrderState)

    # -- inside a transaction -------------------------------------------------------------

    def advance(self, ledger: Ledger) -> _Call | None:
        """Run what can run inside this transaction; return a claimed remote call, or
        ``None`` when the snapshot is done (or processing must stop)."""
        snapshot = self.snapshot
        connection = ledger.connection(snapshot.shop)
        order = ledger.lock_order(connection, snapshot)
        state = ledger.state_of(order)
        if state.ordering_key is not None and snapshot.ordering_key < state.ordering_key:
            log.info("snapshot of order %s is older than one processed; ignored",
                     snapshot.order_id)
            self.stale = not self.executed
            self.order_id, self.state = order.id, state
            return None
        self.order_id, self.locked = order.id, (order, connection)
        providers = self.hooks.providers()
        while True:
            record = self._next_record(ledger, order, connection, state,
                                       providers.get(order.provider))
            if record is None:
                self._finish(ledger, order, state)
                return None
            op = ledger.operation_of(record)
            if record.status == "succeeded":  # done before, but the state was not stored
                state = apply(state, op)
                continue
            if record.status == "dead":  # stays dead until the merchant retries it
                self.failure = Failure(op, record.error or "dead", permanent=True)
                self._finish(ledger, order, state)
                return None
            wait = _wait(record)
            if wait is not None:
                self.failure = Failure(op, wait[0], permanent=False, retry_after=wait[1],
                                       waiting=True)
                self.state = state
                return None
            # still in flight past its lease: its worker died during the call, so the
            # outcome is unknown
            uncertain = record.uncertain or record.status == "in_flight"
            context = order_context(ledger, order, connection, snapshot, state)
            provider = providers.get(order.provider)
            if provider is not None and provider.remote:
                return self._claim(ledger, order, record, op, context, provider, uncertain,
                                   state)
            eligibility = decide_placement(ledger, self.hooks, order, snapshot) \
                if op.kind is OperationKind.PLACEMENT else None
            result, failure = None, None
            try:
                with ledger.session.begin_nested():
                    result = self.hooks.run_operation(context, op, ledger, eligibility)
            except Exception as exc:
                failure = _failure(op, exc)
            record.attempts += 1  # written with the outcome, in one UPDATE
            state = self._conclude(ledger, order, record, context, state, result=result,
                                   failure=failure)
            if self.failure is not None:
                self._finish(ledger, order, state)
                return None

    def _next_record(self, ledger: Ledger, order: Order, connection: ShopConnection,
                     state: OrderState, provider: ProviderInfo | None) -> OperationRecord | None:
        """What to run next: the oldest operation not yet succeeded, exactly as it was
        decided; else the first operation the snapshot calls for now (increases only if
        the order's provider accepts them)."""
        unfinished = ledger.unfinished_operations(order)
        if unfinished:
            return unfinished[0]
        increases = provider is not None and provider.increases
        decision = reconcile(self.snapshot, state, Rules.from_mapping(connection.status_map),
                             increases=increases,
                             declined=declined_increases(ledger.operations_of(order)) if increases
                             else frozenset())
        if not self.decided:  # refusals compare the snapshot with the state it found
            self.decided, self.refusals = True, decision.refusals
            for refusal in decision.refusals:
                if ledger.record_refusal(order, refusal):
                    self.hooks.change_refused(
                        order_context(ledger, order, connection, self.snapshot, state), refusal,
                        ledger)
        if not decision.operations:
            return None
        return ledger.operation_record(order, decision.operations[0])

    def _claim(self, ledger: Ledger, order: Order, record: OperationRecord, op: Operation,
               context: OrderContext, provider: ProviderInfo, uncertain: bool,
               state: OrderState) -> _Call:
        """Commit the record as in flight (with the state reached so far) before the call."""
        now = _now()
        record.status, record.claimed_at, record.attempts = "in_flight", now, record.attempts + 1
        record.marks = {**(record.marks or {}), "lease": lease_owner()}
        ledger.save_state(order, state, self.snapshot)
        self.state = state
        return _Call(record.id, now, op, context, provider, uncertain)

    def settle(self, ledger: Ledger, call: _Call, answer: _Answer) -> bool:
        """Record a remote call's outcome; ``True`` if processing goes on."""
        order = ledger.lock_order_by_id(call.context.order_key)
        record = ledger.session.get(OperationRecord, call.record_id)
        if record is None or record.status != "in_flight" or record.claimed_at != call.claimed_at:
            # our lease ran out and another worker took the operation over: its outcome counts
            log.warning("operation %s was taken over by another worker; this outcome is "
                        "dropped", call.record_id)
            self.failure = Failure(call.operation, "the operation was taken over by another "
                                   "worker", permanent=False)
            return False
        state = ledger.state_of(order)
        record.uncertain = answer.uncertain
        record.claimed_at = None
        context = order_context(ledger, order, order.connection, self.snapshot, state)
        state = self._conclude(ledger, order, record, context, state, result=answer.result,
                               failure=answer.failure)
        if self.failure is not None:
            self._finish(ledger, order, state)
            return False
        ledger.save_state(order, state, self.snapshot)
        return True

    def _conclude(self, ledger: Ledger, order: Order, record: OperationRecord,
                  context: OrderContext, state: OrderState, *,
                  result: OperationResult | None = None,
                  failure: Failure | None = None) -> OrderState:
        """Write an attempt's outcome on the record and return the state it leads to."""
        op = ledger.operation_of(record)
        if failure is not None:
            permanent = failure.permanent or self.backoff.exhausted(record.attempts)
            error = failure.error
            if permanent and not failure.permanent:
                error = f"gave up after {record.attempts} attempts: {error}"
            record.status, record.error = ("dead" if permanent else "failed"), error
            delay = None
            if not permanent:
                delay = self.backoff.delay(record.attempts, failure.retry_after)
                record.next_attempt_at = _now() + timedelta(seconds=delay)
            self.failure = Failure(op, error, permanent, delay)
            self.hooks.operation_failed(context, op, error, permanent, ledger)
            return state
        assert result is not None
        record.status, record.error, record.uncertain = "succeeded", None, False
        record.next_attempt_at = None
        record.provider_reference = result.provider_reference
        record.document_number = result.document_number
        if isinstance(result, Authorisation) and not result.approved \
                and op.kind is not OperationKind.PLACEMENT:  # an increase, declined
            record.marks = {**(record.marks or {}), "declined": result.decline_reason}
            refusal = declined_refusal(context, op, result.decline_reason)
            if ledger.record_refusal(order, refusal):
                self.hooks.change_refused(context, refusal, ledger)
            self.refusals = (*self.refusals, refusal)
            return state
        self.executed.append(op)
        if isinstance(result, Authorisation) and not result.approved:
            state = decline(state, result.decline_reason or "declined")
        else:
            if op.kind is OperationKind.PLACEMENT:
                order.provider_reference = result.provider_reference
            state = apply(state, op)
        self.hooks.operation_succeeded(context, op, result, ledger)
        return state

    def _finish(self, ledger: Ledger, order: Order, state: OrderState) -> None:
        """Store the state reached; the snapshot counts as seen even if an operation failed,
        so an older one arriving meanwhile is recognised as stale."""
        self.state = mark_seen(state, self.snapshot.ordering_key)
        ledger.save_state(order, self.state, self.snapshot)

    # -- outside any transaction ----------------------------------------------------------

    def call(self, call: _Call) -> _Answer:
        """Make a claimed remote call; when the last attempt's outcome is unknown, ask the
        provider's state first (unless it honours idempotency keys)."""
        op, context = call.operation, call.context
        uncertain = call.uncertain
        try:
            if uncertain and not call.provider.idempotency_keys:
                lookup = self.hooks.lookup_operation(context, op)
                if lookup is None:
                    raise PermanentError(
                        "the last attempt's outcome is unknown and the provider cannot be "
                        "asked: check the order at the provider, then retry the operation")
                if lookup.applied:
                    log.info("operation %s had taken effect at the provider", call.record_id)
                    return _Answer(result=lookup.result or OperationResult())
                uncertain = False
            return _Answer(result=self.hooks.run_operation(context, op, None))
        except OutcomeUnknown as exc:
            return _Answer(failure=_failure(op, exc), uncertain=True)
        except (RetryableError, PermanentError, ConfigurationError) as exc:
            return _Answer(failure=_failure(op, exc), uncertain=uncertain)
        except Exception as exc:  # a bug in the plugin: the request may have gone out
            return _Answer(failure=_failure(op, exc), uncertain=True)

    def outcome(self) -> Outcome:
        return Outcome(self.order_id, self.state.status if self.order_id else None,
                       self.snapshot.currency, tuple(self.executed), self.refusals,
                       self.failure, stale=self.stale, decline_reason=self.state.decline_reason)


def _wait(record: OperationRecord) -> tuple[str, float] | None:
    """Why ``record`` may not be tried now, and for how many seconds: its backoff runs, or
    another worker is calling the provider for it (its lease has not run out)."""
    now = _now()
    if record.status == "failed" and record.next_attempt_at is not None \
            and record.next_attempt_at > now:
        return (f"operation {record.id} waits until {record.next_attempt_at:%H:%M:%S} UTC "
                f"before its next attempt ({record.error})",
                (record.next_attempt_at - now).total_seconds())
    if record.status == "in_flight" and record.claimed_at is not None \
            and now - record.claimed_at < LEASE:
        return (f"operation {record.id} of this order is being carried out by another "
                "worker", 30.0)
    return None


def _failure(op: Operation, exc: Exception) -> Failure:
    if isinstance(exc, PermanentError | ConfigurationError):
        return Failure(op, str(exc), permanent=True)
    if isinstance(exc, RetryableError):
        return Failure(op, str(exc), permanent=False, retry_after=exc.retry_after)
    return Failure(op, describe(exc), permanent=False)


def _now() -> datetime:
    return datetime.now(UTC)


# -- what the shop changed and the kit does not pass on -----------------------------------


def refuse_change(ledger: Ledger, hooks: Hooks, snapshot: OrderSnapshot,
                  refusal: Refusal) -> bool:
    """Record a change of the shop's order that the kit does not pass on, found outside
    :func:`~core.reconcile.reconcile` (the platform plugin's reason to ignore an order the
    kit holds, a refund deleted in the shop…), once per order and refusal, and tell the
    observers (:func:`~core.hookspecs.change_refused`: the shop's note, ``orders show``).
    A snapshot older than the one processed last tells nothing. ``True`` if it is new."""
    connection = ledger.connection(snapshot.shop)
    order = ledger.find_order(snapshot.shop, snapshot.order_id)
    order = ledger.lock_order_by_id(order.id)
    state = ledger.state_of(order)
    if state.ordering_key is not None and snapshot.ordering_key < state.ordering_key:
        return False
    if not ledger.record_refusal(order, refusal):
        return False
    hooks.change_refused(order_context(ledger, order, connection, snapshot, state), refusal, ledger)
    return True


def followed_refusal(reason: str) -> Refusal:
    """The refusal that tells the merchant the kit follows an order whose shop now says it
    would not take it on (``reason``, the platform plugin's: another payment method…)."""
    digest = hashlib.sha256(reason.encode()).hexdigest()[:12]
    return Refusal(f"followed:{digest}", 0,
                   f"the shop's order now reads \"{reason}\", but the kit placed it by invoice "
                   "and keeps following it: its invoice stays open until the order is "
                   "cancelled or refunded in the shop, and those changes are still passed on")
