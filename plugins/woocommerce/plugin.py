"""Hook implementations of the WooCommerce platform plugin."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from core import hookimpl
from core.context import ConnectionCheck, FetchedOrder, ParsedDelivery, PlatformInfo, WriteBack
from core.errors import ConfigurationError, PayloadError
from core.operations import OperationKind
from core.schemas import dump_snapshot, load_snapshot, read_json_object
from core.snapshot import OrderSnapshot
from plugins.woocommerce import rest, signature
from plugins.woocommerce.order import IGNORED_STATUSES, read_order, to_snapshot

NAME = "woocommerce"
DEFAULT_PAYMENT_METHODS = ("invoice",)
STATUS_MAP = {"completed": "activate", "cancelled": "cancel", "refunded": "cancel"}
ORDER_TOPICS = ("order.created", "order.updated", "order.restored")
# the webhooks a connection needs, by topic, as WooCommerce's admin names the topics
NEEDED_WEBHOOKS = {"order.created": "Order created", "order.updated": "Order updated"}
WEBHOOKS_SCREEN = "WooCommerce → Settings → Advanced → Webhooks"
DEFAULT_DECLINED_STATUS = "on-hold"
# WooCommerce's status of an order whose payment failed: never placed, or cancelled
FAILED = "failed"
META_PREFIX = "invoicekit_"
_PING = re.compile(rb"webhook_id=\d{1,20}")

log = logging.getLogger(__name__)


@hookimpl
def declare_platform() -> PlatformInfo:
    return PlatformInfo(
        name=NAME,
        capabilities=frozenset({OperationKind.ACTIVATION, OperationKind.FULL_CREDIT,
                                OperationKind.PARTIAL_CREDIT, OperationKind.DISCOUNT_TRANSFER,
                                OperationKind.RETURN}),
        status_map=STATUS_MAP,
        check_settings=rest.check_settings,
    )


@hookimpl
def is_ping(platform: str, body: bytes, headers: Mapping[str, str]) -> bool | None:
    if platform != NAME:
        return None
    return "X-WC-Webhook-Signature" not in headers and _PING.fullmatch(body) is not None


@hookimpl
def verify_delivery(platform: str, body: bytes, headers: Mapping[str, str],
                    secrets: Sequence[str]) -> bool | None:
    if platform != NAME:
        return None
    signature.verify(body, headers.get("X-WC-Webhook-Signature"), secrets)
    return True


@hookimpl
def parse_delivery(platform: str, shop: str, body: bytes, headers: Mapping[str, str],
                   settings: Mapping[str, Any]) -> ParsedDelivery | None:
    if platform != NAME:
        return None
    topic = headers.get("X-WC-Webhook-Topic") or "order.updated"
    key = hashlib.sha256(body).hexdigest()
    data = read_json_object(body, exact_numbers=True)
    order_id = str(data["id"]) if isinstance(data.get("id"), int) else None
    if topic == "order.deleted":
        return ParsedDelivery(key, topic, order_id,
                              ignored="order moved to the trash; cancel it to credit it")
    if topic not in ORDER_TOPICS:
        return ParsedDelivery(key, topic, order_id, ignored=f"topic {topic} is not an order")
    _refuse_error_payload(data)
    order = read_order(data)
    ignored = _not_taken_on(order, settings)
    if ignored is None:
        return ParsedDelivery(key, topic, order_id, (to_snapshot(order, shop, settings),))
    # the kit follows an order it placed whatever the shop says now, so the snapshot goes
    # with the reason; an order that cannot be read as an invoice order is just ignored
    try:
        snapshot = to_snapshot(order, shop, settings)
    except PayloadError:
        return ParsedDelivery(key, topic, order_id, ignored=ignored)
    if order["status"] == FAILED:  # a placed order that failed is cancelled
        snapshot = dataclasses.replace(snapshot, cancelled=True)
    return ParsedDelivery(key, topic, order_id, (snapshot,), ignored=ignored)


def _refuse_error_payload(data: Mapping[str, Any]) -> None:
    """WooCommerce builds a webhook's order through its own REST API; when that fails it
    sends the REST error instead (recorded on WooCommerce 10.5.2: ``rest_no_route`` for a
    webhook delivered synchronously inside a Store API request, where WooCommerce 9.4+ does
    not load ``wc/v3``). Say so instead of listing every missing order field."""
    error = data.get("data")
    if "id" in data or not isinstance(data.get("code"), str) or not isinstance(error, dict):
        return
    raise PayloadError({"body": [
        f"WooCommerce sent an error instead of the order: {data['code']} "
        f"({str(data.get('message') or '')[:200]}); it builds a webhook's order through its "
        "REST API, which a webhook delivered synchronously during a block checkout cannot "
        "reach: keep WooCommerce's asynchronous webhook delivery (the default)"]})


def _not_taken_on(order: Mapping[str, Any], settings: Mapping[str, Any]) -> str | None:
    """Why the kit would not take the order on, if it does not hold it already."""
    methods = settings.get("payment_methods") or DEFAULT_PAYMENT_METHODS
    if order["payment_method"] not in methods:
        return f"not paid by invoice (payment method {order['payment_method'] or 'none'!r})"
    if order["status"] == FAILED:
        return f"status {FAILED!r} is not placed (a placed order that fails is cancelled)"
    if order["status"] in IGNORED_STATUSES:
        return f"status {order['status']!r} is not placed yet"
    return None


@hookimpl
def enrich_snapshot(platform: str, snapshot: OrderSnapshot,
                    settings: Mapping[str, Any]) -> OrderSnapshot | None:
    if platform != NAME:
        return None
    if not rest.has_credentials(settings) or all(r.lines for r in snapshot.refunds):
        return snapshot
    lines = rest.refund_lines(settings, snapshot.order_id, snapshot.currency)
    data = dump_snapshot(snapshot)
    for refund in data["refunds"]:
        if refund["lines"] is None:
            refund["lines"] = lines.get(refund["refund_id"])
    try:
        return load_snapshot(data)
    except PayloadError as exc:
        log.warning("refund lines of WooCommerce order %s do not fit the order (%s); "
                    "crediting amounts only", snapshot.order_id, ", ".join(exc.field_errors))
        return snapshot


@hookimpl
def write_back(platform: str, writeback: WriteBack, settings: Mapping[str, Any]) -> str | None:
    """Order meta ``invoicekit_*`` with the values, a private note, and a declined order
    put on hold (``declined_status``; empty keeps the status)."""
    if platform != NAME:
        return None
    if not rest.has_credentials(settings):
        return "skipped: no REST credentials"
    order_id = writeback.shop_order_id
    status = None
    if writeback.event == "declined":
        status = settings.get("declined_status", DEFAULT_DECLINED_STATUS) or None
    rest.update_order(settings, order_id,
                      {f"{META_PREFIX}{key}": value for key, value in writeback.values.items()},
                      status)
    marker = f"[invoicekit {writeback.idempotency_key[:12]}]"
    if writeback.uncertain and rest.has_note(settings, order_id, marker):
        return "meta written; the note was written before"
    rest.add_note(settings, order_id, f"{writeback.note} {marker}")
    return f"meta, status {status} and note written" if status else "meta and note written"


@hookimpl
def check_connection(platform: str, settings: Mapping[str, Any],
                     delivery_url: str) -> list[ConnectionCheck] | None:
    """The two order webhooks (``GET webhooks``): each must post to the connection's
    delivery URL and be active. WooCommerce disables a webhook by itself after repeated
    failed deliveries and never sends what it missed."""
    if platform != NAME:
        return None
    if not rest.has_credentials(settings):
        raise ConfigurationError("the WooCommerce connection has no REST credentials, so its "
                                 "webhooks cannot be read")
    found = rest.webhooks(settings)
    return [_webhook_check(topic, title, found, delivery_url)
            for topic, title in NEEDED_WEBHOOKS.items()]


def _same_url(a: object, b: str) -> bool:
    return str(a or "").strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def _webhook_check(topic: str, title: str, found: Sequence[Mapping[str, Any]],
                   delivery_url: str) -> ConnectionCheck:
    of_topic = [w for w in found if w.get("topic") == topic]
    ours = [w for w in of_topic if _same_url(w.get("delivery_url"), delivery_url)]
    subject = f"webhook {topic}"
    if any(w.get("status") == "active" for w in ours):
        return ConnectionCheck(subject, True, "active")
    if ours:
        hook = ours[0]
        status = str(hook.get("status") or "unknown")
        return ConnectionCheck(subject, False, status, (
            f"set webhook {hook.get('id')} \"{hook.get('name') or title}\" to Active in "
            f"{WEBHOOKS_SCREEN}. WooCommerce disables a webhook after its deliveries failed "
            "more than 5 times in a row and sends nothing while it is off; re-activated, it "
            "keeps its failure count until a delivery succeeds, so one more failure disables "
            f"it again: check first that {delivery_url} answers (invoicekit serve running "
            "and reachable from the shop), then run invoicekit shops sync for the changes "
            "it did not send"))
    elsewhere = "".join(f"; webhook {w.get('id')} of this topic posts to "
                        f"{w.get('delivery_url')} instead" for w in of_topic)
    return ConnectionCheck(subject, False, "missing", (
        f"add a webhook in {WEBHOOKS_SCREEN}: status Active, topic {title}, delivery URL "
        f"{delivery_url}, the connection's secret, API version WP REST API Integration v3"
        f"{elsewhere}"))


@hookimpl
def fetch_orders(platform: str, settings: Mapping[str, Any], modified_since: datetime | None,
                 order_id: str | None) -> Iterable[FetchedOrder] | None:
    if platform != NAME:
        return None
    if not rest.has_credentials(settings):
        raise ConfigurationError("the WooCommerce connection has no REST credentials "
                                 "(invoicekit shops configure SHOP --rest-url … "
                                 "--consumer-key … --consumer-secret …)")
    if order_id is not None:
        return [_fetched(rest.order(settings, order_id), settings)]
    assert modified_since is not None
    return (_fetched(order, settings) for order in rest.modified_orders(settings,
                                                                        modified_since))


def _fetched(order: Mapping[str, Any], settings: Mapping[str, Any]) -> FetchedOrder:
    """An order from the REST API as an ``order.updated`` webhook would carry it (the
    webhook's body is the same REST representation)."""
    body = json.dumps(order, ensure_ascii=False, separators=(",", ":")).encode()
    return FetchedOrder(str(order.get("id")), body, {
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Source": f"{str(settings['rest_url']).rstrip('/')}/"})
