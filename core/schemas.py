"""Validation of order snapshots and request bodies at the edges.

:func:`load_snapshot` turns a plain mapping (decimal strings for money) into an
:class:`~core.snapshot.OrderSnapshot` or raises :class:`~core.errors.PayloadError` naming every
bad field; :func:`dump_snapshot` is its inverse, for storage and for the generic wire format.
A snapshot is read by plain-Python field readers (:mod:`core.readers`: it is read several
times per delivery); the marshmallow helpers here serve the APIs' request schemas.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from core import readers
from core.errors import MalformedPayload, PayloadError
from core.money import is_known_currency, parse_decimal, to_decimal, to_minor
from core.readers import Invalid
from core.snapshot import (
    Buyer,
    Discount,
    Line,
    LineKind,
    OrderSnapshot,
    Refund,
    RefundLine,
)

__all__ = ["MoneyField", "StrictInteger", "StrictSchema",
           "country_field", "dump_snapshot", "flatten_errors", "load_snapshot", "optional_text",
           "parse_json", "read_json_object", "text_field"]

MAX_QUANTITY = 1_000_000
MAX_JSON_DEPTH = 64  # arrays and objects in one another; recorded shop orders nest up to 9
TOO_DEEP = f"the body is JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)"
Text = fields.String


class MoneyField(fields.Field):
    """A money value as a decimal string (``"12.34"``); JSON numbers are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            return parse_decimal(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


class StrictInteger(fields.Integer):
    """An integer that refuses booleans, strings and floats."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("must be an integer, not a boolean")
        return super()._deserialize(value, attr, data, **kwargs)


def text_field(maximum: int = 255, **kwargs: Any) -> fields.String:
    """A text of 1 to ``maximum`` characters."""
    return Text(validate=validate.Length(min=1, max=maximum), **kwargs)


def optional_text(maximum: int = 255) -> fields.String:
    """A text of at most ``maximum`` characters, or null."""
    return Text(load_default=None, allow_none=True, validate=validate.Length(max=maximum))


def country_field() -> fields.String:
    """A required upper-case ISO 3166-1 alpha-2 country code."""
    return Text(required=True, validate=validate.Regexp(
        r"^[A-Z]{2}$", error="must be an upper-case ISO 3166-1 alpha-2 code"))


class StrictSchema(Schema):
    """Refuses fields it does not know (422 naming them)."""

    class Meta:
        unknown = RAISE


_LINE_KINDS = {kind.value: kind for kind in LineKind}
_KIND_CHOICES = "Must be one of: " + ", ".join(_LINE_KINDS) + "."


def _line_kind(value: Any) -> LineKind:
    """A line kind by its value (``product``, ``shipping``, ``fee``)."""
    try:
        found = _LINE_KINDS.get(value)
    except TypeError:  # not hashable
        found = None
    if found is not None:
        return found
    try:
        return LineKind(value)
    except ValueError:
        raise Invalid([_KIND_CHOICES]) from None


def _matching(pattern: str, message: str) -> Callable[[str], str | None]:
    """A check that the text matches ``pattern`` from its start (``re.match``)."""
    match = re.compile(pattern).match
    return lambda text: None if match(text) else message


_NOT_AN_EMAIL = "Not a valid email address."


def _email_text(value: Any) -> str:
    """A text, where anything else is "not a valid email address" (as a marshmallow
    ``Email`` field said)."""
    try:
        return readers.string(value)
    except Invalid as exc:
        if exc.messages == [readers.NOT_A_STRING]:
            raise Invalid([_NOT_AN_EMAIL]) from None
        raise


def _email(text: str) -> str | None:
    """Why ``text`` is no e-mail address (marshmallow's own check), or None."""
    try:
        _EMAIL(text)
    except ValidationError as exc:
        return str(exc.messages[0])
    return None


_EMAIL = validate.Email(error=_NOT_AN_EMAIL)


def _text(maximum: int = 255) -> readers.Field:
    """A required text of 1 to ``maximum`` characters (:func:`text_field`)."""
    return readers.value(readers.string, required=True,
                         checks=[readers.length(1, maximum)])


def _optional(maximum: int = 255) -> readers.Field:
    """A text of at most ``maximum`` characters, or null (:func:`optional_text`)."""
    return readers.value(readers.string, default=None, nullable=True,
                         checks=[readers.length(maximum=maximum)])


def _money(**kwargs: Any) -> readers.Field:
    return readers.value(readers.money, **kwargs)


def _count(**kwargs: Any) -> readers.Field:
    return readers.value(readers.no_bool_integer, checks=[readers.within(0, MAX_QUANTITY)],
                         **kwargs)


_BUYER = [
    ("company", _optional()), ("legal_form", _optional(64)), ("vat_id", _optional(32)),
    ("first_name", _optional()), ("last_name", _optional()),
    ("email", readers.value(_email_text, required=True,
                            checks=[_email, readers.length(maximum=254)])),
    ("street", _text()), ("address_2", _optional()), ("postcode", _text(32)),
    ("city", _text()),
    ("country", readers.value(readers.string, required=True, checks=[_matching(
        r"^[A-Z]{2}$", "must be an upper-case ISO 3166-1 alpha-2 code")])),
    ("language", readers.value(readers.string, default=None, nullable=True, checks=[_matching(
        r"^[a-z]{2}$", "must be a lower-case ISO 639-1 code such as de, en, fr")])),
    ("phone", _optional(64)), ("buyer_reference", _optional(200)),
]
_LINE = [
    ("line_id", _text(64)),
    ("kind", readers.value(_line_kind, default=LineKind.PRODUCT)),
    ("sku", _optional(64)), ("name", _text()), ("quantity", _count(required=True)),
    ("net", _money(required=True)), ("tax", _money(required=True)),
    ("gross", _money(required=True)), ("tax_rate", _money(required=True)),
    ("shipped", _count(default=None, nullable=True)),
]
_DISCOUNT = [("code", _text(64)), ("amount", _money(required=True))]
_REFUND_LINE = [  # quantity 0: an amount of the line with no units back (shipping alone)
    ("line_id", _text(64)), ("quantity", _count(required=True)),
    ("amount", _money(required=True)), ("tax", _money(default=None, nullable=True)),
]
_REFUND = [
    ("refund_id", _text(64)), ("amount", _money(required=True)),
    ("lines", readers.listed(readers.nested(_REFUND_LINE, strict=True), default=None,
                             nullable=True)),
    ("reason", _optional(1000)),
]
_read_snapshot = readers.reader([
    ("shop", _text(64)), ("order_id", _text(64)), ("order_number", _text(64)),
    ("currency", readers.value(readers.string, required=True)),
    ("buyer", readers.nested(_BUYER, strict=True, required=True)),
    ("lines", readers.listed(readers.nested(_LINE, strict=True), required=True,
                             checks=[readers.length(1, 1000)])),
    ("total", _money(required=True)), ("total_tax", _money(required=True)),
    ("status", _text(64)),
    ("ordering_key", readers.value(readers.aware_datetime, required=True)),
    ("discounts", readers.listed(readers.nested(_DISCOUNT, strict=True), factory=list)),
    ("refunds", readers.listed(readers.nested(_REFUND, strict=True), factory=list)),
    ("cancelled", readers.value(readers.boolean, default=False)),
    ("returned", readers.value(readers.boolean, default=False)),
    ("placed_at", readers.value(readers.aware_datetime, default=None, nullable=True)),
    ("installments", readers.value(readers.no_bool_integer, default=1,
                                   checks=[readers.within(1, 12)])),
], strict=True)


def parse_json(body: bytes | str, *, exact_numbers: bool = False) -> Any:
    """A request body as JSON; :class:`MalformedPayload` (400) if it is not JSON or nests
    arrays and objects more than :data:`MAX_JSON_DEPTH` deep. Every request body is read
    here: a body nested thousands deep would otherwise end in a ``RecursionError`` (500).

    ``exact_numbers`` reads JSON numbers with fractions as ``Decimal`` (for platforms that
    send money as numbers); by default they stay floats, which money fields refuse.
    """
    try:
        data = json.loads(body, parse_float=Decimal if exact_numbers else None)
    except RecursionError:
        raise MalformedPayload(TOO_DEEP) from None
    except (ValueError, UnicodeDecodeError):
        raise MalformedPayload("the body is not JSON") from None
    if _deeper_than(data, MAX_JSON_DEPTH):
        raise MalformedPayload(TOO_DEEP)
    return data


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and dicts more than ``limit`` deep (level by level,
    without recursion)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        if not level:
            return False
        level = [child for item in level for child in (
            item.values() if isinstance(item, dict) else item) if isinstance(child, dict | list)]
    return bool(level)


def read_json_object(body: bytes, *, exact_numbers: bool = False) -> dict[str, Any]:
    """A request body that must be one JSON object (:func:`parse_json`);
    :class:`MalformedPayload` otherwise."""
    data = parse_json(body, exact_numbers=exact_numbers)
    if not isinstance(data, dict):
        raise MalformedPayload("the body is not a JSON object")
    return data


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict → ``{"lines.0.gross": [...]}``."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = str(key) if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else prefix or name or "_schema"
            flat.update(flatten_errors(value, path))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix: messages}
    return {prefix: [str(messages)]}


class _Checker:
    """Collects cross-field errors and converts money with the order's currency."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def minor(self, value: Decimal, path: str, *, allow_negative: bool = False) -> int:
        if value < 0 and not allow_negative:
            self.fail(path, "must not be negative")
        try:
            return to_minor(value, self.currency)
        except ValueError as exc:
            self.fail(path, str(exc))
            return 0


def _rounding_tolerance(line_count: int) -> int:
    """Minor units by which per-line rounding may move a sum away from the order total."""
    return max(1, (line_count + 1) // 2)


def load_snapshot(data: Mapping[str, Any]) -> OrderSnapshot:
    """Validate ``data`` and build an :class:`OrderSnapshot`; raise :class:`PayloadError`.

    Beyond field types this checks: a known currency and amounts exact to its exponent;
    ``net + tax == gross`` per line; no line shipping more units than it has; no negative
    amounts except fee lines; the lines adding up to ``total`` and ``total_tax`` within the
    shop's rounding; refunds naming existing lines, never more units than a line has, and
    never more than the order total.
    """
    raw = _read_snapshot(data)  # field by field, as the marshmallow schema it replaced

    currency = raw["currency"]
    if not is_known_currency(currency):
        raise PayloadError({"currency": ["must be a known upper-case ISO 4217 code"]})
    check = _Checker(currency)

    lines: list[Line] = []
    for i, item in enumerate(raw["lines"]):
        path = f"lines.{i}"
        is_fee = item["kind"] is LineKind.FEE
        net = check.minor(item["net"], f"{path}.net", allow_negative=is_fee)
        tax = check.minor(item["tax"], f"{path}.tax", allow_negative=is_fee)
        gross = check.minor(item["gross"], f"{path}.gross", allow_negative=is_fee)
        if net + tax != gross and not any(key.startswith(f"{path}.") for key in check.errors):
            check.fail(f"{path}.gross", "must equal net + tax")
        rate = item["tax_rate"]
        if not 0 <= rate <= 100:
            check.fail(f"{path}.tax_rate", "must be a percentage between 0 and 100")
        if item["shipped"] is not None and item["shipped"] > item["quantity"]:
            check.fail(f"{path}.shipped", "must not exceed the quantity")
        lines.append(Line(line_id=item["line_id"], kind=item["kind"], name=item["name"],
                          quantity=item["quantity"], net=net, tax=tax, gross=gross,
                          tax_rate=rate, sku=item["sku"], shipped=item["shipped"]))
    by_id = {line.line_id: line for line in lines}
    if len(by_id) != len(lines):
        check.fail("lines", "line_id values must be unique")

    total = check.minor(raw["total"], "total")
    total_tax = check.minor(raw["total_tax"], "total_tax")
    tolerance = _rounding_tolerance(len(lines))
    if abs(sum(line.gross for line in lines) - total) > tolerance:
        check.fail("total", "lines do not add up to the total")
    if abs(sum(line.tax for line in lines) - total_tax) > tolerance:
        check.fail("total_tax", "line taxes do not add up to the total tax")

    discounts = tuple(
        Discount(code=d["code"], amount=check.minor(d["amount"], f"discounts.{i}.amount"))
        for i, d in enumerate(raw["discounts"])
    )
    refunds = []
    refunded_units: dict[str, int] = {}
    for i, r in enumerate(raw["refunds"]):
        path = f"refunds.{i}"
        amount = check.minor(r["amount"], f"{path}.amount")
        if amount == 0:
            check.fail(f"{path}.amount", "must be positive")
        refund_lines = None
        if r["lines"] is not None:
            refund_lines = []
            for j, rl in enumerate(r["lines"]):
                line = by_id.get(rl["line_id"])
                if line is None:
                    check.fail(f"{path}.lines.{j}.line_id", "names no line of this order")
                    continue
                refunded_units[line.line_id] = refunded_units.get(line.line_id, 0) + rl["quantity"]
                if refunded_units[line.line_id] > line.quantity:
                    check.fail(f"{path}.lines.{j}.quantity", "refunds more units than ordered")
                line_amount = check.minor(rl["amount"], f"{path}.lines.{j}.amount")
                if rl["quantity"] == 0 and line_amount <= 0:
                    check.fail(f"{path}.lines.{j}.amount",
                               "a line refunded without units needs a positive amount")
                line_tax = None if rl["tax"] is None else check.minor(
                    rl["tax"], f"{path}.lines.{j}.tax")
                if line_tax is not None and line_tax > line_amount:
                    check.fail(f"{path}.lines.{j}.tax", "must not exceed the amount")
                refund_lines.append(RefundLine(line_id=line.line_id, quantity=rl["quantity"],
                                               amount=line_amount, tax=line_tax))
            refund_lines = tuple(refund_lines)
        refunds.append(Refund(refund_id=r["refund_id"], amount=amount, lines=refund_lines,
                              reason=r["reason"]))
    if len({r.refund_id for r in refunds}) != len(refunds):
        check.fail("refunds", "refund_id values must be unique")
    if sum(r.amount for r in refunds) > total:
        check.fail("refunds", "refunds exceed the order total")

    if check.errors:
        raise PayloadError(check.errors)
    return OrderSnapshot(
        shop=raw["shop"], order_id=raw["order_id"], order_number=raw["order_number"],
        currency=currency, buyer=Buyer(**raw["buyer"]), lines=tuple(lines), total=total,
        total_tax=total_tax, status=raw["status"], ordering_key=raw["ordering_key"],
        discounts=discounts, refunds=tuple(refunds), cancelled=raw["cancelled"],
        returned=raw["returned"], placed_at=raw["placed_at"],
        installments=raw["installments"],
    )


def _dumped(text: Any) -> str | None:
    """A buyer's field as stored: text or null."""
    if text is None or type(text) is str:
        return text
    return text.decode("utf-8") if isinstance(text, bytes) else str(text)


def dump_snapshot(snapshot: OrderSnapshot) -> dict[str, Any]:
    """The snapshot as JSON-ready data that :func:`load_snapshot` reads back unchanged."""

    def money(minor: int) -> str:
        return str(to_decimal(minor, snapshot.currency))

    return {
        "shop": snapshot.shop,
        "order_id": snapshot.order_id,
        "order_number": snapshot.order_number,
        "currency": snapshot.currency,
        "buyer": {name: _dumped(getattr(snapshot.buyer, name)) for name, _ in _BUYER},
        "lines": [
            {"line_id": li.line_id, "kind": li.kind.value, "sku": li.sku, "name": li.name,
             "quantity": li.quantity, "net": money(li.net), "tax": money(li.tax),
             "gross": money(li.gross), "tax_rate": str(li.tax_rate), "shipped": li.shipped}
            for li in snapshot.lines
        ],
        "total": money(snapshot.total),
        "total_tax": money(snapshot.total_tax),
        "status": snapshot.status,
        "ordering_key": snapshot.ordering_key.isoformat(),
        "discounts": [{"code": d.code, "amount": money(d.amount)} for d in snapshot.discounts],
        "refunds": [
            {"refund_id": r.refund_id, "amount": money(r.amount), "reason": r.reason,
             "lines": None if r.lines is None else [
                 {"line_id": rl.line_id, "quantity": rl.quantity, "amount": money(rl.amount),
                  **({} if rl.tax is None else {"tax": money(rl.tax)})}
                 for rl in r.lines]}
            for r in snapshot.refunds
        ],
        "cancelled": snapshot.cancelled,
        "returned": snapshot.returned,
        "placed_at": snapshot.placed_at.isoformat() if snapshot.placed_at else None,
        "installments": snapshot.installments,
    }
