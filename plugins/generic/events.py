"""The generic canonical event format: ``{"type", "timestamp", "data": {"order": …}}``.

``data.order`` is the whole order *after* the event, in the canonical snapshot format
(``docs/generic.md``; money as decimal strings), without ``shop``, which comes from the URL.
``type`` says what happened and must agree with the order:

* ``order.placed`` — a new invoice order;
* ``order.activated`` — shipped: ``status`` is ``activated``; optional ``data.shipped_lines``
  must then cover every article (the kit activates whole orders only);
* ``order.cancelled`` — ``status`` is ``cancelled``;
* ``order.refunded`` — ``refunds`` lists the new refund (by amount, or by lines);
* ``order.discounted`` — ``discounts`` lists the new discount, lines and total lowered;
* ``order.returned`` — ``refunds`` lists a refund naming the returned lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from core.errors import PayloadError
from core.schemas import flatten_errors, load_snapshot
from core.snapshot import LineKind, OrderSnapshot

__all__ = ["EVENT_TYPES", "STATUS_MAP", "read_event"]

EVENT_TYPES = ("order.placed", "order.activated", "order.cancelled", "order.refunded",
               "order.discounted", "order.returned")
STATUS_MAP = {"activated": "activate", "cancelled": "cancel"}


class _ShippedLine(Schema):
    class Meta:
        unknown = RAISE

    line_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class _Data(Schema):
    class Meta:
        unknown = RAISE

    order = fields.Dict(required=True)
    shipped_lines = fields.List(fields.Nested(_ShippedLine), load_default=None)


class EventSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    timestamp = fields.AwareDateTime(required=True, default_timezone=UTC)
    data = fields.Nested(_Data, required=True)


_EVENT_SCHEMA = EventSchema()


def _check(event_type: str, snapshot: OrderSnapshot,
           shipped: list[dict[str, Any]] | None) -> dict[str, list[str]]:
    """Does the order say what the event type says happened?"""
    errors: dict[str, list[str]] = {}
    if event_type == "order.activated" and snapshot.status != "activated":
        errors["data.order.status"] = ["must be 'activated' for order.activated"]
    if event_type == "order.cancelled" and snapshot.status != "cancelled":
        errors["data.order.status"] = ["must be 'cancelled' for order.cancelled"]
    if event_type == "order.refunded" and not snapshot.refunds:
        errors["data.order.refunds"] = ["must list the refund for order.refunded"]
    if event_type == "order.returned" and not any(r.lines for r in snapshot.refunds):
        errors["data.order.refunds"] = ["must list a refund naming the returned lines"]
    if event_type == "order.discounted" and not snapshot.discounts:
        errors["data.order.discounts"] = ["must list the discount for order.discounted"]
    if shipped is not None:
        units = {}
        for line in shipped:
            units[line["line_id"]] = units.get(line["line_id"], 0) + line["quantity"]
        articles = {li.line_id: li.quantity for li in snapshot.lines
                    if li.kind is LineKind.PRODUCT}
        if event_type != "order.activated" or any(units.get(k, 0) < q
                                                  for k, q in articles.items()):
            errors["data.shipped_lines"] = [
                "partial activation is not supported: send order.activated once every "
                "article has shipped"]
        elif set(units) - set(articles):
            errors["data.shipped_lines"] = ["names lines that are not articles of the order"]
    return errors


def read_event(data: Any, shop: str) -> tuple[str, OrderSnapshot]:
    """Validate an event; return its type and the order snapshot it carries."""
    try:
        event = _EVENT_SCHEMA.load(data)
    except ValidationError as exc:
        raise PayloadError(flatten_errors(exc.messages)) from None
    order: Mapping[str, Any] = event["data"]["order"]
    if "shop" in order:
        raise PayloadError({"data.order.shop": ["must be left out: the URL names the shop"]})
    try:
        snapshot = load_snapshot({**order, "shop": shop})
    except PayloadError as exc:
        raise PayloadError({f"data.order.{k}": v for k, v in exc.field_errors.items()}) \
            from None
    errors = _check(event["type"], snapshot, event["data"]["shipped_lines"])
    if errors:
        raise PayloadError(errors)
    return event["type"], snapshot
