"""Hook implementations of the WooCommerce platform plugin."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from core import hookimpl
from core.context import FetchedOrder, ParsedDelivery, PlatformInfo, WriteBack
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
DEFAULT_DECLINED_STATUS = "on-hold"
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
    order = read_order(data)
    methods = settings.get("payment_methods") or DEFAULT_PAYMENT_METHODS
    if order["payment_method"] not in methods:
        return ParsedDelivery(key, topic, order_id,
                              ignored="not paid by invoice (payment method "
                                      f"{order['payment_method'] or 'none'!r})")
    if order["status"] in IGNORED_STATUSES:
        return ParsedDelivery(key, topic, order_id,
                              ignored=f"status {order['status']!r} is not placed yet")
    return ParsedDelivery(key, topic, order_id, (to_snapshot(order, shop, settings),))


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
