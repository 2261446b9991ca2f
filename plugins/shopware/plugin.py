"""Hook implementations of the Shopware 6 app."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from core import hookimpl
from core.context import AppResponse, FetchedOrder, ParsedDelivery, PlatformInfo, WriteBack
from core.errors import ConfigurationError, MalformedPayload, NotFound, PermanentError
from core.hooks import Hooks
from core.ledger.store import Ledger
from core.operations import OperationKind
from core.schemas import dump_snapshot, load_snapshot, read_json_object
from core.snapshot import OrderSnapshot
from plugins.shopware import admin, backfill, order_fields, payment, registration, widget
from plugins.shopware.order import (
    EVENT_STATUS,
    WIDGET_PLACED,
    payment_method_matches,
    to_snapshot,
)
from plugins.shopware.signature import check

NAME = "shopware"
DEFAULT_PAYMENT_METHODS = ("payment_invoice",)
NEEDS_ADMIN_API = ("returned_partially", "refunded_partially")


def _by_widget(order: Mapping[str, Any], methods: Sequence[str]) -> bool:
    """Is the order's newest transaction paid with the app's widget method? Its order is
    placed once the buyer confirmed and finalize authorized the payment
    (:mod:`plugins.shopware.widget`), not when Shopware creates it."""
    transactions = [t for t in order.get("transactions") or () if isinstance(t, Mapping)]
    if not transactions:
        return False
    newest = max(transactions, key=lambda t: str(t.get("createdAt") or ""))
    widget_names = [m for m in methods if m.endswith(f"_{payment.WIDGET}")]
    return bool(widget_names) and payment_method_matches({"transactions": [newest]},
                                                         widget_names)


@hookimpl
def declare_platform() -> PlatformInfo:
    return PlatformInfo(name=NAME, capabilities=frozenset(OperationKind),
                        status_map=registration.STATUS_MAP, registers_itself=True)


@hookimpl
def identify_shop(platform: str, body: bytes) -> str | None:
    if platform != NAME:
        return None
    shop_id = (read_json_object(body).get("source") or {}).get("shopId")
    if not isinstance(shop_id, str) or not 0 < len(shop_id) <= 64:
        raise MalformedPayload("source.shopId is missing or not a shop id")
    return shop_id


@hookimpl
def verify_delivery(platform: str, body: bytes, headers: Mapping[str, str],
                    secrets: Sequence[str]) -> bool | None:
    if platform != NAME:
        return None
    check(body, headers.get("shopware-shop-signature"), secrets, "shopware-shop-signature")
    return True


@hookimpl
def parse_delivery(platform: str, shop: str, body: bytes, headers: Mapping[str, str],
                   settings: Mapping[str, Any]) -> ParsedDelivery | None:
    if platform != NAME:
        return None
    data = read_json_object(body)
    event = (data.get("data") or {}).get("event") or ""
    event_id = ((data.get("source") or {}).get("eventId")
                or headers.get("X-Shopware-Event-Id") or "")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
        raise MalformedPayload("source.eventId is missing or not an event id")
    order = ((data.get("data") or {}).get("payload") or {}).get("order")
    order_id = str(order.get("id")) if isinstance(order, dict) else None
    if event not in EVENT_STATUS:
        return ParsedDelivery(event_id, event or "unknown", order_id,
                              ignored=f"event {event or '(none)'} is not handled")
    if not isinstance(order, dict):
        raise MalformedPayload("data.payload.order is missing")
    methods = [*(settings.get("payment_methods") or DEFAULT_PAYMENT_METHODS),
               *(settings.get("app_payment_methods") or ())]
    if not payment_method_matches(order, methods):
        return ParsedDelivery(event_id, event, order_id, ignored="not paid by invoice")
    by_widget = _by_widget(order, methods)
    if event == WIDGET_PLACED and not by_widget:
        return ParsedDelivery(event_id, event, order_id, ignored="not paid in Billie's widget")
    if event == "checkout.order.placed" and by_widget and not backfill.authorized(order):
        return ParsedDelivery(event_id, event, order_id, ignored=(
            "paid in Billie's widget: placed when Shopware authorizes the payment"))
    status = EVENT_STATUS[event]
    snapshot = to_snapshot(order, shop, status, returned=status == "returned")
    return ParsedDelivery(event_id, event, order_id, (snapshot,))


@hookimpl
def enrich_snapshot(platform: str, snapshot: OrderSnapshot,
                    settings: Mapping[str, Any]) -> OrderSnapshot | None:
    if platform != NAME:
        return None
    if snapshot.status not in NEEDS_ADMIN_API:
        return snapshot
    if not admin.has_credentials(settings):
        raise PermanentError("Shopware reported a partial return or refund, but the app has "
                             "no Admin API credentials to read it; register the app again")
    refunds = admin.order_refunds(settings, snapshot.order_id, snapshot.currency)
    if not refunds:
        raise PermanentError("Shopware reports a partial refund or return but the order has "
                             "no refund to read; record it in Shopware, then replay this "
                             "delivery")
    if snapshot.status == "returned_partially" and not any(r["lines"] for r in refunds):
        raise PermanentError("Shopware reports a partial return but no refund says which "
                             "lines came back; credit the return in Shopware with its "
                             "positions, then replay this delivery")
    data = dump_snapshot(snapshot)
    data["refunds"] = refunds
    return load_snapshot(data)


@hookimpl
def handle_app_request(platform: str, action: str, method: str, query: str,
                       headers: Mapping[str, str], body: bytes, ledger: Ledger,
                       settings: Mapping[str, Any], public_url: str,
                       hooks: Hooks) -> AppResponse | None:
    if platform != NAME:
        return None
    if action == "pay" and method == "POST":
        return payment.pay(body, headers, ledger, hooks, settings)
    if action == "widget-pay" and method == "POST":
        return widget.pay(body, headers, ledger, hooks, settings, public_url)
    if action == "widget-finalize" and method == "POST":
        return widget.finalize(body, headers, ledger)
    if action == "register" and method == "GET":
        return registration.register(query, headers, ledger, settings, public_url)
    if action == "confirm" and method == "POST":
        return registration.confirm(body, headers, ledger)
    if action == "deleted" and method == "POST":
        return registration.deleted(body, headers, ledger)
    raise NotFound(f"no Shopware app endpoint {method} {action}")


@hookimpl
def write_back(platform: str, writeback: WriteBack, settings: Mapping[str, Any]) -> str | None:
    if platform != NAME:
        return None
    return order_fields.write(settings, writeback)


@hookimpl
def fetch_orders(platform: str, settings: Mapping[str, Any], modified_since: datetime | None,
                 order_id: str | None) -> Iterable[FetchedOrder] | None:
    if platform != NAME:
        return None
    if not admin.has_credentials(settings):
        raise ConfigurationError("the Shopware shop has no Admin API credentials; register "
                                 "the app")
    if order_id is not None:
        return [backfill.fetched(admin.order(settings, order_id), settings)]
    assert modified_since is not None
    return (backfill.fetched(order, settings)
            for order in admin.changed_orders(settings, modified_since))
