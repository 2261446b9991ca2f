"""Where operations are executed: reconcile a snapshot, run each operation through the hooks,
and record every outcome in the ledger.

One call handles one snapshot inside the caller's transaction. The order row is locked first,
so events of one order never interleave. Each operation's record (with its idempotency key)
is written (flushed, in the same transaction) before the provider hook runs; the provider's
own ledger writes run in a savepoint that is rolled back if the hook fails. A failure stops
the remaining operations: the state is not advanced, so the next attempt decides the same
operations with the same keys. A dead operation is not tried again until
:func:`replay_order` is called for its order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.context import OrderContext
from core.errors import ConfigurationError, PermanentError, describe
from core.hooks import Hooks
from core.ledger.models import OperationRecord, Order, ShopConnection
from core.ledger.store import Ledger
from core.operations import Authorisation, Operation, OperationKind, Refusal
from core.reconcile import Rules, reconcile
from core.schemas import load_snapshot
from core.snapshot import OrderSnapshot
from core.state import OrderState, Status, apply, decline, mark_seen

__all__ = ["Failure", "Outcome", "process_snapshot", "replay_order"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """An operation that failed; ``permanent`` failures are dead until replayed."""

    operation: Operation
    error: str
    permanent: bool


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


def _context(order: Order, connection: ShopConnection, snapshot: OrderSnapshot,
             state: OrderState) -> OrderContext:
    return OrderContext(
        order_key=order.id, merchant_id=connection.merchant_id, shop=connection.name,
        provider=order.provider, snapshot=snapshot, state=state,
        provider_reference=order.provider_reference,
        settings=connection.provider_settings,
    )


def process_snapshot(ledger: Ledger, hooks: Hooks, snapshot: OrderSnapshot) -> Outcome:
    """Bring the order's provider in line with ``snapshot``; see the module docstring."""
    connection = ledger.connection(snapshot.shop)
    order = ledger.lock_order(connection, snapshot.order_id)
    state = ledger.state_of(order) if order is not None else OrderState()
    if state.ordering_key is not None and snapshot.ordering_key < state.ordering_key:
        log.info("stale snapshot of order %s ignored", snapshot.order_id)
        return Outcome(order.id if order else None, state.status, snapshot.currency, stale=True)
    if order is None:
        order = ledger.create_order(connection, snapshot)
    run = _Run(ledger, hooks, order, connection, snapshot, state)

    # First finish what was started: an operation that failed is retried exactly as it was
    # decided, before anything new is decided on top of it.
    for record in ledger.unfinished_operations(order):
        if not run.execute(ledger.operation_of(record), record):
            return run.finish()
    decision = reconcile(snapshot, run.state, Rules.from_mapping(connection.status_map))
    run.refusals = decision.refusals
    for refusal in decision.refusals:
        if ledger.record_refusal(order, refusal):
            hooks.change_refused(run.context(), refusal)
    for op in decision.operations:
        record = ledger.operation_record(order, op)
        if record.status == "succeeded":  # done before, but the state was not stored
            run.state = apply(run.state, ledger.operation_of(record))
            continue
        if not run.execute(ledger.operation_of(record), record):
            break
    return run.finish()


class _Run:
    """The operations of one snapshot as they are executed, and the state they lead to."""

    def __init__(self, ledger: Ledger, hooks: Hooks, order: Order, connection: ShopConnection,
                 snapshot: OrderSnapshot, state: OrderState) -> None:
        self.ledger, self.hooks, self.order = ledger, hooks, order
        self.connection, self.snapshot, self.state = connection, snapshot, state
        self.executed: list[Operation] = []
        self.refusals: tuple[Refusal, ...] = ()
        self.failure: Failure | None = None

    def context(self) -> OrderContext:
        return _context(self.order, self.connection, self.snapshot, self.state)

    def execute(self, op: Operation, record: OperationRecord) -> bool:
        """Run one operation at the provider; ``False`` if processing must stop here."""
        if record.status == "dead":  # stays dead until the merchant replays it
            self.failure = Failure(op, record.error or "dead", permanent=True)
            return False
        context = self.context()
        record.attempts += 1
        try:
            with self.ledger.session.begin_nested():
                result = self.hooks.run_operation(context, op, self.ledger)
        except (PermanentError, ConfigurationError) as exc:
            self.failure = Failure(op, str(exc), permanent=True)
        except Exception as exc:
            self.failure = Failure(op, describe(exc), permanent=False)
        if self.failure is not None:
            record.status = "dead" if self.failure.permanent else "failed"
            record.error = self.failure.error
            self.hooks.operation_failed(context, op, self.failure.error, self.failure.permanent)
            return False
        record.status, record.error = "succeeded", None
        record.provider_reference = result.provider_reference
        record.document_number = result.document_number
        self.executed.append(op)
        if isinstance(result, Authorisation) and not result.approved:
            self.state = decline(self.state, result.decline_reason or "declined")
            self.hooks.operation_succeeded(context, op, result)
            return False
        if op.kind is OperationKind.PLACEMENT:
            self.order.provider_reference = result.provider_reference
        self.state = apply(self.state, op)
        self.hooks.operation_succeeded(context, op, result)
        return True

    def finish(self) -> Outcome:
        """Store the state reached; the snapshot counts as seen even if an operation failed,
        so an older one arriving meanwhile is recognised as stale."""
        self.state = mark_seen(self.state, self.snapshot.ordering_key)
        self.ledger.save_state(self.order, self.state, self.snapshot)
        return Outcome(self.order.id, self.state.status, self.snapshot.currency,
                       tuple(self.executed), self.refusals, self.failure,
                       decline_reason=self.state.decline_reason)


def replay_order(ledger: Ledger, hooks: Hooks, shop: str, shop_order_id: str) -> Outcome:
    """Give an order's dead operations another try by processing its newest snapshot again."""
    order = ledger.find_order(shop, shop_order_id)
    ledger.reopen_dead_operations(order)
    return process_snapshot(ledger, hooks, load_snapshot(order.snapshot))
