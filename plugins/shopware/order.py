"""Shopware 6 order JSON (as carried by business and state events) → canonical snapshot.

Money arrives as JSON floats: each is read through its string form and rounded once to the
currency's exponent, so no float reaches the ledger. Line items carry no tax amount (their
``price`` is not ApiAware), so net and tax come from ``priceDefinition.taxRules`` and the
order's ``taxStatus`` (gross prices, net prices, or tax-free). A promotion has no tax rules:
its tax per rate is what the order's ``price.calculatedTaxes`` hold beyond the other lines
and the shipping costs (``shippingCosts.calculatedTaxes``). Promotions are negative line
items: they become negative fee lines, and their sum the order's discount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.errors import PayloadError
from core.legal_forms import guess_legal_form
from core.money import allocate, exponent, is_known_currency
from core.schemas import load_snapshot
from core.snapshot import OrderSnapshot

__all__ = ["EVENT_STATUS", "WIDGET_PLACED", "buyer_of", "payment_method_matches",
           "to_snapshot"]

# an order paid in Billie's widget (the app's async method) is placed when its payment is
# authorized, after the buyer confirmed; its checkout.order.placed came before that
WIDGET_PLACED = "state_enter.order_transaction.state.authorized"

# Event name → the status word the snapshot carries (the connection maps words to triggers).
EVENT_STATUS = {
    "checkout.order.placed": "open",
    "state_enter.order_delivery.state.shipped": "shipped",
    "state_enter.order_delivery.state.shipped_partially": "shipped_partially",
    "state_enter.order_delivery.state.returned": "returned",
    "state_enter.order_delivery.state.returned_partially": "returned_partially",
    "state_enter.order_delivery.state.cancelled": "cancelled",
    "state_enter.order.state.cancelled": "cancelled",
    "state_enter.order_transaction.state.refunded": "refunded",
    "state_enter.order_transaction.state.refunded_partially": "refunded_partially",
    "state_enter.order_transaction.state.cancelled": "cancelled",
    # Shopware failed the payment (after the pay URL answered, say): not on invoice
    "state_enter.order_transaction.state.failed": "cancelled",
    "state_enter.order_transaction.state.paid": "paid",
    WIDGET_PLACED: "open",  # only for the widget's orders (plugins/shopware/plugin.py)
}


class _Reader:
    """Reads values out of the order, collecting errors under Shopware's field names."""

    def __init__(self, currency: str) -> None:
        self.quantum = Decimal(1).scaleb(-exponent(currency))
        self.errors: dict[str, list[str]] = {}

    def money(self, value: Any, path: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            self.errors.setdefault(path, []).append("must be a number")
            return Decimal(0)
        try:
            return Decimal(str(value)).quantize(self.quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            self.errors.setdefault(path, []).append("must be a number")
            return Decimal(0)

    def amounts(self, price: Decimal, rate: Decimal,
                tax_status: str) -> tuple[Decimal, Decimal, Decimal]:
        """(net, tax, gross) of a line price at ``rate`` percent, the tax rounded once as
        Shopware rounds it (Checkout/Cart/Tax/TaxCalculator.php); the price is gross when the
        order's prices are gross, net when they are net."""
        if tax_status == "tax-free" or rate == 0:
            return price, Decimal(0), price
        if tax_status == "net":
            tax = (price * rate / 100).quantize(self.quantum, rounding=ROUND_HALF_UP)
            return price, tax, price + tax
        tax = (price * rate / (100 + rate)).quantize(self.quantum, rounding=ROUND_HALF_UP)
        return price - tax, tax, price

    def line(self, line_id: str, kind: str, name: str, quantity: int, price: Decimal,
             tax: Decimal, rate: Decimal, tax_status: str,
             sku: str | None = None) -> dict[str, Any]:
        """A canonical line from its price (gross or net, as the order's prices are) and
        tax."""
        net, gross = (price, price + tax) if tax_status == "net" else (price - tax, price)
        return {"line_id": line_id, "kind": kind, "name": name or kind, "sku": sku,
                "quantity": quantity, "net": str(net), "tax": str(tax), "gross": str(gross),
                "tax_rate": str(rate.normalize())}


def _rules(item: Mapping[str, Any]) -> list[tuple[Decimal, Decimal]] | None:
    """(tax rate, percentage of the amount) of a line item; ``None`` when it has none: a
    promotion's price definition (``percentage`` or ``absolute``) carries no tax rules."""
    rules = ((item.get("priceDefinition") or {}).get("taxRules")
             or item.get("taxRules") or [])
    parsed = [(Decimal(str(r.get("taxRate", 0))), Decimal(str(r.get("percentage", 100))))
              for r in rules if isinstance(r, Mapping)]
    return parsed or None


def _split(reader: _Reader, line_id: str, kind: str, name: str, quantity: int, amount: Decimal,
           rules: Sequence[tuple[Decimal, Decimal]], tax_status: str,
           sku: str | None = None) -> list[dict[str, Any]]:
    """One canonical line per tax rule (promotions over mixed rates have several)."""
    minor = int(amount / reader.quantum)
    weights = [int(p * 100) for _, p in rules]
    parts = allocate(abs(minor), weights) if len(rules) > 1 else [abs(minor)]
    lines = []
    for (rate, _), part in zip(rules, parts, strict=True):
        price = Decimal(part if minor >= 0 else -part) * reader.quantum
        _, tax, _ = reader.amounts(price, rate, tax_status)
        suffix = f":{rate.normalize()}" if len(rules) > 1 else ""
        lines.append(reader.line(f"{line_id}{suffix}", kind, name, quantity, price, tax, rate,
                                 tax_status, sku))
    return lines


def _taxes(reader: _Reader, taxes: Any, path: str) -> dict[Decimal, list[Decimal]]:
    """A ``calculatedTaxes`` list as {rate: [price, tax]} (price gross or net, as the order's
    prices are)."""
    result: dict[Decimal, list[Decimal]] = {}
    for i, t in enumerate(taxes if isinstance(taxes, list) else ()):
        rate = Decimal(str(t.get("taxRate", 0))).normalize()
        into = result.setdefault(rate, [Decimal(0), Decimal(0)])
        into[0] += reader.money(t.get("price"), f"{path}.{i}.price")
        into[1] += reader.money(t.get("tax"), f"{path}.{i}.tax")
    return result


def _share_out(reader: _Reader, rest: Mapping[Decimal, Sequence[Decimal]],
               items: Sequence[tuple[str, str, str, Decimal]],
               tax_status: str) -> dict[str, list[dict[str, Any]]]:
    """The lines without tax rules of their own (promotions), per tax rate: what the order's
    ``calculatedTaxes`` hold beyond the other lines and shipping, shared among them by their
    amounts, largest remainder first. Shopware taxes a promotion by the shares of the goods
    it discounts (Cart/Tax/PercentageTaxRuleBuilder.php) and adds every line's taxes up per
    rate into the order's (Cart/Price/AmountCalculator.php); only the order's sum reaches
    apps, the line item's ``price`` is not ApiAware (Checkout/Order/Aggregate/OrderLineItem/
    OrderLineItemDefinition.php)."""
    weights = [abs(int(amount / reader.quantum)) for *_, amount in items]
    result: dict[str, list[dict[str, Any]]] = {line_id: [] for line_id, *_ in items}
    for rate, (price, tax) in sorted(rest.items(), reverse=True):
        prices = allocate(int(price / reader.quantum), weights)
        taxes = allocate(int(tax / reader.quantum), weights)
        for (line_id, kind, name, _), p, t in zip(items, prices, taxes, strict=True):
            if p or t:
                result[line_id].append(reader.line(
                    f"{line_id}:{rate}", kind, name, 1, p * reader.quantum,
                    t * reader.quantum, rate, tax_status))
    for line_id, kind, name, amount in items:
        lines = result[line_id]
        if len(lines) == 1:
            lines[0]["line_id"] = line_id
        elif not lines:  # nothing left for it: the order's taxes do not say
            result[line_id] = [reader.line(line_id, kind, name, 1, amount, Decimal(0),
                                           Decimal(0), tax_status)]
    return result


def _per_rate(lines: Sequence[Mapping[str, Any]],
              tax_status: str) -> dict[Decimal, list[Decimal]]:
    """{rate: [price, tax]} of canonical lines (price gross or net, as the order's)."""
    result: dict[Decimal, list[Decimal]] = {}
    for line in lines:
        into = result.setdefault(Decimal(line["tax_rate"]), [Decimal(0), Decimal(0)])
        into[0] += Decimal(line["net" if tax_status == "net" else "gross"])
        into[1] += Decimal(line["tax"])
    return result


def _latest(order: Mapping[str, Any]) -> str:
    """The newest change time of the order and its deliveries and transactions."""
    stamps = [order.get("updatedAt"), order.get("createdAt")]
    for key in ("deliveries", "transactions", "lineItems"):
        for child in order.get(key) or ():
            stamps += [child.get("updatedAt"), child.get("createdAt")]
    parsed = [datetime.fromisoformat(s) for s in stamps if isinstance(s, str)]
    if not parsed:
        raise PayloadError({"order.updatedAt": ["is required"]})
    return max(parsed).isoformat()


def payment_method_matches(order: Mapping[str, Any], methods: Sequence[str]) -> bool:
    """Was the order paid with one of ``methods`` (ids, technical names or handlers)?"""
    for transaction in order.get("transactions") or ():
        method = transaction.get("paymentMethod") or {}
        names = {transaction.get("paymentMethodId"), method.get("id"),
                 method.get("technicalName"), method.get("handlerIdentifier")}
        if names & set(methods):
            return True
    return False


def buyer_of(order: Mapping[str, Any]) -> dict[str, Any]:
    """The buyer in canonical form: company and VAT ID from the order customer, the address
    from the billing address (``billingAddress``, loaded for the pay URL; else the one of
    ``addresses`` the order's ``billingAddressId`` names, as webhooks carry it)."""
    customer = order.get("orderCustomer") or {}
    addresses = order.get("addresses") or []
    billing = order.get("billingAddress") or next(
        (a for a in addresses if a.get("id") == order.get("billingAddressId")),
        addresses[0] if addresses else {})
    company = (billing.get("company") or customer.get("company") or "").strip() or None
    vat_ids = customer.get("vatIds") or []
    return {
        "company": company, "legal_form": guess_legal_form(company),
        "vat_id": vat_ids[0] if vat_ids else None,
        "first_name": customer.get("firstName") or billing.get("firstName"),
        "last_name": customer.get("lastName") or billing.get("lastName"),
        "email": customer.get("email") or "", "street": billing.get("street") or "",
        "address_2": billing.get("additionalAddressLine1") or None,
        "postcode": billing.get("zipcode") or "", "city": billing.get("city") or "",
        "country": ((billing.get("country") or {}).get("iso") or ""),
        "phone": (billing.get("phoneNumber") or "").strip()[:64] or None,
    }


def to_snapshot(order: Mapping[str, Any], shop: str, status: str, *, returned: bool = False,
                refunds: Sequence[Mapping[str, Any]] = ()) -> OrderSnapshot:
    """The canonical snapshot of a Shopware order in ``status``."""
    currency = (order.get("currency") or {}).get("isoCode")
    if not isinstance(currency, str) or not is_known_currency(currency):
        raise PayloadError({"order.currency.isoCode": ["must be a known ISO 4217 code"]})
    reader = _Reader(currency)
    price = order.get("price") or {}
    tax_status = price.get("taxStatus") or order.get("taxStatus") or "gross"
    slots: list[list[dict[str, Any]] | str] = []  # lines, or the id of a line without rules
    unruled: list[tuple[str, str, str, Decimal]] = []
    discount = Decimal(0)
    for i, item in enumerate(order.get("lineItems") or ()):
        amount = reader.money(item.get("totalPrice"), f"order.lineItems.{i}.totalPrice")
        kind = {"product": "product", "promotion": "fee"}.get(item.get("type"), "fee")
        if item.get("type") == "promotion":
            discount -= amount
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            reader.errors.setdefault(f"order.lineItems.{i}.quantity", []).append(
                "must be a whole number, not negative")
            quantity = 0
        line_id, name = str(item.get("id")), str(item.get("label") or "")
        rules = _rules(item)
        if rules is None and tax_status != "tax-free" and price.get("calculatedTaxes"):
            unruled.append((line_id, kind, name, amount))
            slots.append(line_id)
            continue
        slots.append(_split(reader, line_id, kind, name, quantity if kind == "product" else 1,
                            amount, rules or [(Decimal(0), Decimal(100))], tax_status,
                            (item.get("payload") or {}).get("productNumber")))
    shipping = order.get("shippingCosts") or {}
    shipping_price = reader.money(shipping.get("totalPrice", order.get("shippingTotal", 0)),
                                  "order.shippingCosts.totalPrice")
    shipping_taxes = _taxes(reader, shipping.get("calculatedTaxes"),
                            "order.shippingCosts.calculatedTaxes")
    if tax_status != "tax-free" and shipping_taxes and \
            sum(p for p, _ in shipping_taxes.values()) == shipping_price:
        # the shipping costs' own taxes per rate (CalculatedPriceField, ApiAware)
        several = len(shipping_taxes) > 1
        slots.append([reader.line(f"shipping:{rate}" if several else "shipping", "shipping",
                                  "Shipping", 1, p, t, rate, tax_status)
                      for rate, (p, t) in shipping_taxes.items() if p or t or not several])
    elif shipping_price:
        slots.append(_split(reader, "shipping", "shipping", "Shipping", 1, shipping_price,
                            _rules(shipping) or [(Decimal(0), Decimal(100))], tax_status))
    if unruled:
        known = _per_rate([li for slot in slots if isinstance(slot, list) for li in slot],
                          tax_status)
        rest = {rate: [p - known.get(rate, [0, 0])[0], t - known.get(rate, [0, 0])[1]]
                for rate, (p, t) in _taxes(reader, price.get("calculatedTaxes"),
                                           "order.price.calculatedTaxes").items()}
        shared = _share_out(reader, rest, unruled, tax_status)
        slots = [shared[slot] if isinstance(slot, str) else slot for slot in slots]
    lines = [line for slot in slots if isinstance(slot, list) for line in slot]
    total = reader.money(order.get("amountTotal"), "order.amountTotal")
    net = reader.money(order.get("amountNet"), "order.amountNet")
    if reader.errors:
        raise PayloadError(reader.errors)
    data = {
        "shop": shop, "order_id": str(order.get("id")),
        "order_number": str(order.get("orderNumber") or order.get("id")),
        "currency": currency, "buyer": buyer_of(order), "lines": lines,
        "total": str(total), "total_tax": str(total - net if tax_status != "tax-free" else 0),
        "status": status, "ordering_key": _latest(order), "returned": returned,
        "discounts": [{"code": "promotions", "amount": str(discount)}] if discount > 0 else [],
        "refunds": list(refunds),
    }
    return load_snapshot(data)
