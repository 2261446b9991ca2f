"""WooCommerce REST v3 order JSON → canonical snapshot.

Facts used (WooCommerce's order controller, observed on WooCommerce 10.5): money fields are
decimal strings in shop decimals (``coupon_lines[].discount`` may be ``"52.3"``), line
``total``/``total_tax`` are after coupons and excluding tax, ``refunds[]`` is newest first
with negative ``total`` strings, dates ``*_gmt`` carry no offset, and ``rate_percent`` is a
JSON number. Unknown keys are ignored: newer WooCommerce versions add fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core import readers
from core.errors import PayloadError
from core.legal_forms import guess_legal_form
from core.money import allocate, exponent, is_known_currency, to_decimal, to_minor
from core.schemas import load_snapshot
from core.snapshot import OrderSnapshot

__all__ = ["DEFAULT_VAT_ID_KEYS", "IGNORED_STATUSES", "to_snapshot"]

IGNORED_STATUSES = frozenset({"checkout-draft", "pending", "failed", "draft", "auto-draft",
                              "trash"})
DEFAULT_VAT_ID_KEYS = ("_billing_vat_id", "billing_vat_id", "_vat_number", "vat_number",
                       "_billing_vat", "vat_id")
DEFAULT_LEGAL_FORM_KEYS = ("_billing_legal_form", "billing_legal_form", "legal_form")
# WooCommerce has no field for the buyer's reference (BT-10, a public buyer's Leitweg-ID);
# a checkout field added as "leitweg_id" or "buyer_reference" is stored as these meta keys
DEFAULT_BUYER_REFERENCE_KEYS = ("_billing_leitweg_id", "_billing_buyer_reference",
                                "leitweg_id", "buyer_reference")


def _text() -> readers.Field:
    """A text that may be null, ``""`` when absent."""
    return readers.value(readers.string, default="", nullable=True)


def _required(convert: Callable[[Any], Any], **kwargs: Any) -> readers.Field:
    """A field that must be there and not null."""
    return readers.value(convert, required=True, **kwargs)


def _many(fields: list[tuple[str, readers.Field]], **kwargs: Any) -> readers.Field:
    """A list of objects (null items refused, unknown keys ignored); ``[]`` when absent."""
    return readers.listed(readers.nested(fields, strict=False), **({"factory": list} | kwargs))


_ID = _required(readers.strict_integer)
_TAXES = _many([("id", _required(readers.integer)),
                ("total", readers.value(readers.raw, default="0"))])
_TAXED = [  # what line items, shipping lines and fee lines share
    ("id", _ID), ("total", _required(readers.string)), ("total_tax", _required(readers.string)),
    ("taxes", _TAXES),
]
_BILLING = [(name, _text()) for name in (
    "company", "first_name", "last_name", "address_1", "address_2", "city", "postcode",
    "country", "email", "phone")]
# the fields of a WooCommerce order that invoicekit reads, in order; unknown keys ignored
_read_order = readers.reader([
    ("id", _ID), ("number", _required(readers.string)), ("status", _required(readers.string)),
    ("currency", _required(readers.string)), ("payment_method", _text()),
    ("date_created_gmt", readers.value(readers.naive_datetime, default=None, nullable=True)),
    ("date_modified_gmt", _required(readers.naive_datetime)),
    ("total", _required(readers.string)), ("total_tax", _required(readers.string)),
    ("shipping_total", readers.value(readers.raw, default=None, nullable=True)),
    ("shipping_tax", readers.value(readers.raw, default=None, nullable=True)),
    ("billing", readers.nested(_BILLING, strict=False, required=True)),
    ("line_items", _many([*_TAXED, ("name", _text()), ("sku", _text()), (
        "quantity", _required(readers.strict_integer, checks=[readers.within(0)]))],
        required=True, factory=None)),
    ("shipping_lines", _many([*_TAXED, ("method_title", _text())])),
    ("fee_lines", _many([*_TAXED, ("name", _text())])),
    ("coupon_lines", _many([("code", _required(readers.string)),
                            ("discount", _required(readers.string)),
                            ("discount_tax", readers.value(readers.string, default="0"))])),
    ("refunds", _many([("id", _ID), ("reason", _text()), ("total", _required(readers.string))])),
    ("tax_lines", _many([("rate_id", _required(readers.integer)),
                         ("rate_percent", readers.value(readers.raw, default=None,
                                                        nullable=True)),
                         ("shipping_tax_total", readers.value(readers.raw, default=None,
                                                              nullable=True))])),
    ("meta_data", _many([("key", _required(readers.string)),
                         ("value", readers.value(readers.raw, nullable=True))])),
], strict=False)


def read_order(data: Any) -> dict[str, Any]:
    """Validate the parts of a WooCommerce order JSON the kit uses; errors name Woo fields.

    :class:`PayloadError` names each refused field (``line_items.0.quantity``); keys the kit
    does not read are left out of the result."""
    return _read_order(data)


class _Money:
    """Shop decimal strings to canonical decimal strings, rounded once (half up)."""

    def __init__(self, currency: str) -> None:
        self.quantum = Decimal(1).scaleb(-exponent(currency))
        self.errors: dict[str, list[str]] = {}

    def __call__(self, value: Any, path: str, *, negate: bool = False) -> str:
        try:
            amount = Decimal(str(value)) if value not in (None, "") else Decimal(0)
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            self.errors.setdefault(path, []).append("must be a decimal amount")
            return "0"
        amount = -amount if negate else amount
        return str(amount.quantize(self.quantum, rounding=ROUND_HALF_UP))


def _rate(taxes: list[dict[str, Any]], rates: Mapping[int, Decimal], net: str, tax: str) -> str:
    """A line's tax rate: the rates of its taxes, else what its amounts imply."""
    applied = [t["id"] for t in taxes if Decimal(str(t.get("total") or 0)) != 0]
    if applied and all(rate_id in rates for rate_id in applied):
        return str(sum(rates[rate_id] for rate_id in applied))
    net_d, tax_d = Decimal(net), Decimal(tax)
    if net_d == 0 or tax_d == 0:
        return "0"
    return str((tax_d * 100 / net_d).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _taxes_by_rate(taxes: list[dict[str, Any]], rates: Mapping[int, Decimal], money: _Money,
                   path: str) -> dict[Decimal, str]:
    """A line's tax per rate, as WooCommerce lists it in ``taxes`` (rates it knows only)."""
    by_rate: dict[Decimal, Decimal] = {}
    for n, entry in enumerate(taxes):
        amount = Decimal(money(entry.get("total"), f"{path}.{n}.total"))
        if amount and entry["id"] in rates:
            rate = rates[entry["id"]]
            by_rate[rate] = by_rate.get(rate, Decimal(0)) + amount
    return {rate: str(amount) for rate, amount in sorted(by_rate.items())}


def _split_by_rate(line_id: str, kind: str, name: str, net: str,
                   tax_by_rate: Mapping[Decimal, str], before: list[dict[str, Any]],
                   currency: str) -> list[dict[str, Any]]:
    """A fee or shipping line WooCommerce taxed at several rates (a fee of a mixed cart is
    taxed in proportion to the order's other lines per rate: ``WC_Order_Item_Fee::
    calculate_taxes``) as one line per rate, ``<line id>@<rate>``: each rate's tax as
    WooCommerce gives it, the net split in proportion to the net per rate of the lines read
    before it (WooCommerce gives no net per rate), so the parts add up to the line."""
    weights = {rate: 0 for rate in tax_by_rate}
    for line in before:
        rate = Decimal(line["tax_rate"])
        if line["kind"] != "fee" and rate in weights:
            weights[rate] += abs(to_minor(line["net"], currency))
    rates = list(tax_by_rate)
    nets = allocate(to_minor(net, currency), [weights[rate] for rate in rates])
    return [_line(f"{line_id}@{rate.normalize():f}", kind, name, 1,
                  str(to_decimal(part, currency)), tax_by_rate[rate], str(rate))
            for rate, part in zip(rates, nets, strict=True)]


def _shipping_without_line(order: Mapping[str, Any], rates: Mapping[int, Decimal],
                           money: _Money, before: list[dict[str, Any]],
                           currency: str) -> list[dict[str, Any]]:
    """The shipping of an order that has a ``shipping_total`` but no shipping row (seen from
    WooCommerce 10.5's checkout when no method was chosen): one line ``shipping``, taxed at
    the rates its tax lines give ``shipping_tax_total`` at (split per rate like a fee)."""
    net = money(order.get("shipping_total"), "shipping_total")
    tax = money(order.get("shipping_tax"), "shipping_tax")
    if Decimal(net) == 0 and Decimal(tax) == 0:
        return []
    by_rate = {rates[t["rate_id"]]: money(t["shipping_tax_total"],
                                          f"tax_lines.{n}.shipping_tax_total")
               for n, t in enumerate(order["tax_lines"])
               if t["rate_id"] in rates and t.get("shipping_tax_total")
               and Decimal(str(t["shipping_tax_total"])) != 0}
    if len(by_rate) > 1:
        return _split_by_rate("shipping", "shipping", "Shipping", net, by_rate, before,
                              currency)
    rate = next(iter(by_rate), Decimal(0))
    return [_line("shipping", "shipping", "Shipping", 1, net, tax, str(rate))]


def _meta(order: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    values = {m["key"]: m.get("value") for m in order["meta_data"]}
    for key in keys:
        value = values.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _line(line_id: str, kind: str, name: str, quantity: int, net: str, tax: str, rate: str,
          sku: str | None = None) -> dict[str, Any]:
    return {"line_id": line_id, "kind": kind, "name": name or kind, "sku": sku or None,
            "quantity": quantity, "net": net, "tax": tax,
            "gross": str(Decimal(net) + Decimal(tax)), "tax_rate": rate}


def to_snapshot(order: Mapping[str, Any], shop: str, settings: Mapping[str, Any],
                refund_lines: Mapping[str, list[dict[str, Any]]] | None = None
                ) -> OrderSnapshot:
    """Build the canonical snapshot of a validated WooCommerce order (see :func:`read_order`).

    ``refund_lines`` maps a refund id to its lines (``line_id``, ``quantity``, ``amount``) when
    they were read from the REST API.
    """
    currency = order["currency"]
    if not is_known_currency(currency):
        raise PayloadError({"currency": ["must be a known upper-case ISO 4217 code"]})
    money = _Money(currency)
    rates = {t["rate_id"]: Decimal(str(t["rate_percent"])) for t in order["tax_lines"]
             if t.get("rate_percent") is not None}
    lines: list[dict[str, Any]] = []
    for key, kind, prefix in (("line_items", "product", ""), ("shipping_lines", "shipping",
                                                               "shipping-"),
                              ("fee_lines", "fee", "fee-")):
        for i, item in enumerate(order[key]):
            net = money(item["total"], f"{key}.{i}.total")
            tax = money(item["total_tax"], f"{key}.{i}.total_tax")
            name = item.get("name") or item.get("method_title") or kind
            line_id = f"{prefix}{item['id']}"
            by_rate = _taxes_by_rate(item["taxes"], rates, money, f"{key}.{i}.taxes")
            if kind != "product" and len(by_rate) > 1:
                lines += _split_by_rate(line_id, kind, name, net, by_rate, lines, currency)
                continue
            lines.append(_line(line_id, kind, name, item.get("quantity", 1), net, tax,
                               _rate(item["taxes"], rates, net, tax), item.get("sku")))
    if not order["shipping_lines"]:
        lines += _shipping_without_line(order, rates, money, lines, currency)
    discounts = [
        {"code": c["code"], "amount": str(
            Decimal(money(c["discount"], f"coupon_lines.{i}.discount"))
            + Decimal(money(c["discount_tax"], f"coupon_lines.{i}.discount_tax")))}
        for i, c in enumerate(order["coupon_lines"])
    ]
    refunds = []
    for i, refund in sorted(enumerate(order["refunds"]), key=lambda pair: pair[1]["id"]):
        refund_id = str(refund["id"])
        if Decimal(money(refund["total"], f"refunds.{i}.total", negate=True)) == 0:
            continue  # a restock-only refund moves no money
        refunds.append({
            "refund_id": refund_id, "reason": refund["reason"] or None,
            "amount": money(refund["total"], f"refunds.{i}.total", negate=True),
            "lines": (refund_lines or {}).get(refund_id),
        })
    billing = order["billing"]
    vat_keys = tuple(settings.get("vat_id_meta_keys") or DEFAULT_VAT_ID_KEYS)
    company = (billing["company"] or "").strip() or None
    data = {
        "shop": shop, "order_id": str(order["id"]), "order_number": order["number"],
        "currency": currency,
        "buyer": {
            "company": company,
            "legal_form": _meta(order, DEFAULT_LEGAL_FORM_KEYS) or guess_legal_form(company),
            "vat_id": _meta(order, vat_keys),
            "first_name": billing["first_name"] or None, "last_name": billing["last_name"] or None,
            "email": billing["email"], "street": billing["address_1"],
            "address_2": billing["address_2"] or None, "postcode": billing["postcode"],
            "city": billing["city"], "country": billing["country"],
            "phone": (billing.get("phone") or "").strip()[:64] or None,
            "buyer_reference": (_meta(order, tuple(settings.get("buyer_reference_meta_keys")
                                                   or DEFAULT_BUYER_REFERENCE_KEYS))
                                or "")[:200] or None,
        },
        "lines": lines,
        "total": money(order["total"], "total"),
        "total_tax": money(order["total_tax"], "total_tax"),
        "status": order["status"],
        "ordering_key": order["date_modified_gmt"].replace(tzinfo=UTC).isoformat(),
        "placed_at": (order["date_created_gmt"].replace(tzinfo=UTC).isoformat()
                      if order["date_created_gmt"] else None),
        "discounts": discounts,
        "refunds": refunds,
    }
    if money.errors:
        raise PayloadError(money.errors)
    return load_snapshot(data)
