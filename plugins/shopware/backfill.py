"""Orders read from the Admin API, wrapped as the webhook the app would have received, so
that the plugin's own ``parse_delivery`` reads them (the reconciliation poll, the dry run).

A webhook names its event, and the event gives the snapshot's status word; an order read
back has only its states, so the event is the one that led to its current state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.context import FetchedOrder

__all__ = ["current_event", "fetched"]


def _state(entity: Mapping[str, Any] | None) -> str | None:
    return ((entity or {}).get("stateMachineState") or {}).get("technicalName")


def _newest(children: Any) -> Mapping[str, Any] | None:
    items = sorted(children or (), key=lambda c: str(c.get("createdAt") or ""))
    return items[-1] if items else None


def authorized(order: Mapping[str, Any]) -> bool:
    """Whether the order's newest payment got past its confirmation (authorized or paid):
    an order of Billie's widget is then placed, also from a polled order whose
    ``state_enter.order_transaction.state.authorized`` webhook was lost."""
    return _state(_newest(order.get("transactions"))) in ("authorized", "paid",
                                                           "paid_partially")


def current_event(order: Mapping[str, Any]) -> str:
    """The state event that stands for the order's current state: cancelled, then the
    payment refunded or cancelled, then the delivery's state, then the payment paid, else
    placed."""
    if _state(order) == "cancelled":
        return "state_enter.order.state.cancelled"
    payment = _state(_newest(order.get("transactions")))
    if payment in ("refunded", "refunded_partially", "cancelled"):
        return f"state_enter.order_transaction.state.{payment}"
    delivery = _state(_newest(order.get("deliveries")))
    if delivery in ("returned", "returned_partially", "shipped", "shipped_partially",
                    "cancelled"):
        return f"state_enter.order_delivery.state.{delivery}"
    if payment == "paid":
        return "state_enter.order_transaction.state.paid"
    return "checkout.order.placed"


def fetched(order: Mapping[str, Any], settings: Mapping[str, Any]) -> FetchedOrder:
    """The order as a webhook body; the same bytes (and event id) while it is unchanged."""
    content = json.dumps(order, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    event_id = "poll-" + hashlib.sha256(content.encode()).hexdigest()[:48]
    stamp = str(order.get("updatedAt") or order.get("createdAt") or "")
    try:
        timestamp = int(datetime.fromisoformat(stamp).timestamp())
    except ValueError:
        timestamp = 0
    envelope = {"data": {"payload": {"order": order}, "event": current_event(order)},
                "source": {"url": settings.get("shop_url"), "eventId": event_id,
                           "shopId": settings.get("shop_id") or ""},
                "timestamp": timestamp}
    body = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return FetchedOrder(str(order.get("id")), body.encode(), {"X-Shopware-Event-Id": event_id})
