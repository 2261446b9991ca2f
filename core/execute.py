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
from core.errors import ConfigurationError, PermanentError
from core.hooks import Hooks
from core.ledger.models import Order, ShopConnection
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
    decision = reconcile(snapshot, state, Rules.from_mapping(connection.status_map))
    if decision.stale:
        log.info("stale snapshot of order %s ignored", snapshot.order_id)
        return Outcome(order.id if order else None, state.status, snapshot.currency, stale=True)
    if order is None:
        order = ledger.create_order(connection, snapshot)

    for refusal in decision.refusals:
        if ledger.record_refusal(order, refusal):
            hooks.change_refused(_context(order, connection, snapshot, state), refusal)

    executed: list[Operation] = []
    failure: Failure | None = None
    for op in decision.operations:
        context = _context(order, connection, snapshot, state)
        record = ledger.operation_record(order, op)
        if record.status == "succeeded":  # done before, but the state was not stored
            state = apply(state, op)
            continue
        if record.status == "dead":  # stays dead until the merchant replays it
            failure = Failure(op, record.error or "dead", permanent=True)
            break
        record.attempts += 1
        try:
            with ledger.session.begin_nested():
                result = hooks.run_operation(context, op, ledger)
        except (PermanentError, ConfigurationError) as exc:
            failure = Failure(op, str(exc), permanent=True)
        except Exception as exc:
            failure = Failure(op, f"{type(exc).__name__}: {exc}", permanent=False)
        if failure is not None:
            record.status = "dead" if failure.permanent else "failed"
            record.error = failure.error
            hooks.operation_failed(context, op, failure.error, failure.permanent)
            break
        record.status = "succeeded"
        record.error = None
        record.provider_reference = result.provider_reference
        record.document_number = result.document_number
        executed.append(op)
        if isinstance(result, Authorisation) and not result.approved:
            state = decline(state, result.decline_reason or "declined")
            hooks.operation_succeeded(context, op, result)
            break
        if op.kind is OperationKind.PLACEMENT:
            order.provider_reference = result.provider_reference
        state = apply(state, op)
        hooks.operation_succeeded(context, op, result)

    if failure is None:
        state = mark_seen(state, snapshot.ordering_key)
    ledger.save_state(order, state, snapshot)
    return Outcome(order.id, state.status, snapshot.currency, tuple(executed),
                   decision.refusals, failure, decline_reason=state.decline_reason)


def replay_order(ledger: Ledger, hooks: Hooks, shop: str, shop_order_id: str) -> Outcome:
    """Give an order's dead operations another try by processing its newest snapshot again."""
    order = ledger.find_order(shop, shop_order_id)
    ledger.reopen_dead_operations(order)
    return process_snapshot(ledger, hooks, load_snapshot(order.snapshot))
