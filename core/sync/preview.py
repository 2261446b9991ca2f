"""The dry run: which operations an order's current state in the shop would trigger.

The order is read from the shop's API and decided against the ledger exactly as a webhook
would be (:func:`core.reconcile.reconcile`), and nothing is run or stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from core.errors import NotFound
from core.hooks import Hooks
from core.inbox import followed_snapshots, ignored_reason
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.operations import Decision, Operation
from core.reconcile import Rules, reconcile
from core.snapshot import OrderSnapshot
from core.state import OrderState
from core.sync.drift import compare

__all__ = ["Preview", "preview_order"]


@dataclass(frozen=True)
class Preview:
    """What the shop's order would trigger now; ``ignored`` when it is no invoice order.

    ``unfinished`` are operations decided before and not yet done: they run first.
    ``followed`` is why the plugin would ignore an order the kit follows all the same (it
    holds it open). ``drift`` is where the shop's order and the ledger differ now
    (:func:`core.sync.drift.compare`).
    """

    shop: str
    order_id: str
    snapshot: OrderSnapshot | None
    state: OrderState
    decision: Decision
    unfinished: tuple[Operation, ...] = ()
    ignored: str | None = None
    known: bool = False
    followed: str | None = None
    drift: tuple[dict[str, Any], ...] = ()


def preview_order(engine: Engine, hooks: Hooks, shop: str, order_id: str) -> Preview:
    """Read ``order_id`` from the shop and decide it against the ledger, without running."""
    with session_scope(engine, write=False) as session:
        connection = Ledger(session).connection(shop)
        platform, settings = connection.platform, dict(connection.platform_settings)
        status_map = dict(connection.status_map)
    fetched = next(iter(hooks.fetch_orders(platform, settings, order_id=order_id)), None)
    if fetched is None:
        raise NotFound(f"shop {shop} has no order {order_id}")
    parsed = hooks.parse_delivery(platform, shop, fetched.body, fetched.headers, settings)
    with session_scope(engine, write=False) as session:
        ledger = Ledger(session)
        connection_id = ledger.connection(shop).id
        ignored = ignored_reason(ledger, connection_id, parsed)
        followed = followed_snapshots(ledger, connection_id, parsed)
    if ignored or not followed:
        return Preview(shop, order_id, None, OrderState(), Decision(),
                       ignored=ignored or "nothing to decide")
    snapshot = hooks.enrich_snapshot(platform, followed[0], settings)
    with session_scope(engine, write=False) as session:
        ledger = Ledger(session)
        try:
            order = ledger.find_order(shop, snapshot.order_id)
        except NotFound:
            state, unfinished, known, drift = OrderState(), (), False, ()
        else:
            state, known = ledger.state_of(order), True
            unfinished = tuple(ledger.operation_of(r)
                               for r in ledger.unfinished_operations(order))
            drift = tuple(compare(ledger, order, snapshot, status_map))
    return Preview(shop, order_id, snapshot, state,
                   reconcile(snapshot, state, Rules.from_mapping(status_map)), unfinished,
                   known=known, followed=parsed.ignored, drift=drift)
