"""Orders priced the way Shopware's cart prices them (gross prices, horizontal tax
calculation, two decimals), written as the Admin API and webhooks show them: only the
ApiAware fields of the order and its line items."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shopware_standin.encode import state_id

CENT = Decimal("0.01")


def _round(value: Decimal) -> Decimal:
    """CashRounding::mathRound / cashRound with two decimals: PHP round(), half away from
    zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Product:
    label: str
    quantity: int
    unit: Decimal  # gross unit price
    rate: Decimal
    number: str


@dataclass(frozen=True)
class Promotion:
    """A cart promotion on every product: ``percentage`` off, or ``absolute`` off."""

    label: str
    code: str
    percentage: Decimal | None = None
    absolute: Decimal | None = None


def _taxes(rules: Sequence[tuple[Decimal, Decimal]], unit: Decimal,
           quantity: int) -> list[dict[str, Decimal]]:
    """Cart/Price/GrossPriceCalculator.php with Cart/Tax/TaxCalculator.php
    ``calculateTaxFromGrossPrice``: per rule, the rule's share of the unit price, its tax
    unrounded; then tax and price times the quantity, each rounded once."""
    taxes = []
    for rate, percentage in rules:
        gross = unit / 100 * percentage
        tax = gross / ((100 + rate) / 100) * (rate / 100)
        taxes.append({"rate": rate, "tax": _round(tax * quantity),
                      "price": _round(gross * quantity)})
    return taxes


def _sum_taxes(groups: Sequence[Sequence[dict[str, Decimal]]]) -> dict[Decimal, dict]:
    """CalculatedTaxCollection::merge: per rate, taxes and prices added up."""
    result: dict[Decimal, dict[str, Decimal]] = {}
    for taxes in groups:
        for t in taxes:
            into = result.setdefault(t["rate"], {"rate": t["rate"], "tax": Decimal(0),
                                                 "price": Decimal(0)})
            into["tax"] += t["tax"]
            into["price"] += t["price"]
    return result


def _tax_json(taxes: Sequence[dict[str, Decimal]]) -> list[dict[str, Any]]:
    return [{"tax": float(t["tax"]), "taxRate": float(t["rate"]), "price": float(t["price"]),
             "apiAlias": "cart_tax_calculated"} for t in taxes]


def _rules_json(rules: Sequence[tuple[Decimal, Decimal]]) -> list[dict[str, Any]]:
    return [{"taxRate": float(r), "percentage": float(p), "apiAlias": "cart_tax_rule"}
            for r, p in rules]


def priced_order(products: Sequence[Product], promotions: Sequence[Promotion] = (),
                 shipping: Decimal = Decimal("11.90"), shipping_rate: Decimal = Decimal(19),
                 order_id: str | None = None, number: str = "10001",
                 created: str = "2026-11-02T09:14:00.000+00:00",
                 payment: str = "payment_invoice") -> dict[str, Any]:
    """An order as Shopware computes and stores it, in the Admin API's JSON."""
    order_id = order_id or uuid.uuid4().hex
    lines: list[dict[str, Any]] = []
    line_taxes = []
    goods_total = Decimal(0)
    for i, p in enumerate(products):
        rules = [(p.rate, Decimal(100))]
        total = _round(p.unit * p.quantity)
        taxes = _taxes(rules, p.unit, p.quantity)
        line_taxes.append(taxes)
        goods_total += total
        lines.append(_line(order_id, i, "product", p.label, p.quantity, p.unit, total,
                           {"type": "quantity", "price": float(p.unit), "quantity": p.quantity,
                            "taxRules": _rules_json(rules), "isCalculated": True,
                            "listPrice": None, "referencePriceDefinition": None,
                            "regulationPrice": None, "apiAlias": "cart_price_quantity"},
                           {"productNumber": p.number}))
    goods_taxes = list(_sum_taxes(line_taxes[:len(products)]).values())
    # Cart/Tax/PercentageTaxRuleBuilder.php: each rate's share of the affected prices
    rules = [(t["rate"], t["price"] / goods_total * 100) for t in goods_taxes]
    for j, promo in enumerate(promotions):
        if promo.percentage is not None:
            # Promotion/Cart/Discount/Calculator/DiscountPercentageCalculator.php with
            # Cart/Price/PercentagePriceCalculator.php: discount rounded, then as a price
            discount = _round(goods_total / 100 * -abs(promo.percentage))
            definition = {"type": "percentage", "percentage": float(-abs(promo.percentage)),
                          "filter": None, "apiAlias": "cart_price_percentage"}
        else:
            assert promo.absolute is not None
            # DiscountAbsoluteCalculator.php with Cart/Price/AbsolutePriceCalculator.php
            discount = -min(abs(promo.absolute), goods_total)
            definition = {"type": "absolute", "price": float(-abs(promo.absolute)),
                          "filter": None, "apiAlias": "cart_price_absolute"}
        line_taxes.append(_taxes(rules, discount, 1))
        lines.append(_line(order_id, len(products) + j, "promotion", promo.label, 1, discount,
                           discount, definition, {"code": promo.code,
                                                  "discountType": definition["type"]}))
    shipping_rules = [(shipping_rate, Decimal(100))]
    shipping_taxes = _taxes(shipping_rules, shipping, 1)
    # Cart/Price/AmountCalculator.php calculateGrossAmount, horizontal: the line and
    # shipping taxes per rate, added up
    taxes = list(_sum_taxes([*line_taxes, shipping_taxes]).values())
    position = sum((Decimal(str(li["totalPrice"])) for li in lines), Decimal(0))
    total = _round(position + shipping)
    net = _round(total - sum((t["tax"] for t in taxes), Decimal(0)))
    method = {"id": f"pm-{payment}", "technicalName": payment, "apiAlias": "payment_method",
              "handlerIdentifier": "Shopware\\Core\\Checkout\\Payment\\Cart\\PaymentHandler\\"
                                   "InvoicePayment" if payment == "payment_invoice" else
                                   "Shopware\\Core\\Checkout\\Payment\\Cart\\PaymentHandler\\"
                                   "PrePayment"}
    return {
        "id": order_id, "versionId": "0fa91ce3e96a4bc2be4bd9ce752c3425", "orderNumber": number,
        "billingAddressId": f"{order_id[:8]}-billing", "taxStatus": "gross",
        "price": {"netPrice": float(net), "totalPrice": float(total),
                  "calculatedTaxes": _tax_json(taxes),
                  "taxRules": _rules_json([(t["rate"], Decimal(100)) for t in taxes]),
                  "positionPrice": float(position), "rawTotal": float(total),
                  "taxStatus": "gross", "apiAlias": "cart_price"},
        "amountTotal": float(total), "amountNet": float(net), "positionPrice": float(position),
        "shippingTotal": float(shipping),
        "shippingCosts": {"unitPrice": float(shipping), "quantity": 1,
                          "totalPrice": float(shipping),
                          "calculatedTaxes": _tax_json(shipping_taxes),
                          "taxRules": _rules_json(shipping_rules), "referencePrice": None,
                          "listPrice": None, "regulationPrice": None,
                          "apiAlias": "calculated_price"},
        "stateId": state_id("order.state", "open"),
        "stateMachineState": _state("order.state", "open"),
        "currency": {"id": "b7d2554b0ce847cd82f3ac9bd1c0dfca", "isoCode": "EUR"},
        "orderCustomer": {"id": f"{order_id[:8]}-customer", "email": "einkauf@muster.example",
                          "firstName": "Erika", "lastName": "Muster",
                          "company": "Muster B\u00fcrobedarf GmbH", "vatIds": ["DE136695976"]},
        "addresses": [{"id": f"{order_id[:8]}-billing", "company": "Muster B\u00fcrobedarf GmbH",
                       "firstName": "Erika", "lastName": "Muster",
                       "street": "Hauptstra\u00dfe 5", "zipcode": "10115", "city": "Berlin",
                       "country": {"id": "c0f1e2d3", "iso": "DE"}}],
        "lineItems": lines,
        "transactions": [{"id": f"{order_id[:24]}00000001", "paymentMethodId": method["id"],
                          "paymentMethod": method,
                          "amount": {"unitPrice": float(total), "totalPrice": float(total),
                                     "quantity": 1, "calculatedTaxes": _tax_json(taxes),
                                     "taxRules": [], "apiAlias": "calculated_price"},
                          "stateId": state_id("order_transaction.state", "open"),
                          "stateMachineState": _state("order_transaction.state", "open"),
                          "captures": [], "createdAt": created, "updatedAt": None}],
        "deliveries": [{"id": f"{order_id[:24]}00000002",
                        "shippingCosts": {"totalPrice": float(shipping)},
                        "stateId": state_id("order_delivery.state", "open"),
                        "stateMachineState": _state("order_delivery.state", "open"),
                        "createdAt": created, "updatedAt": None}],
        "customFields": None, "createdAt": created, "updatedAt": None,
    }


def _state(machine: str, name: str) -> dict[str, Any]:
    return {"id": state_id(machine, name), "technicalName": name}


def _line(order_id: str, i: int, kind: str, label: str, quantity: int, unit: Decimal,
          total: Decimal, definition: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """An order line item with its ApiAware fields only: no ``price`` (its
    CalculatedPriceField has no ApiAware flag in Checkout/Order/Aggregate/OrderLineItem/
    OrderLineItemDefinition.php), but ``priceDefinition``, ``unitPrice`` and
    ``totalPrice``."""
    return {"id": f"{order_id[:24]}{i + 100:08d}", "identifier": f"{kind}-{i}",
            "type": kind, "label": label, "quantity": quantity, "unitPrice": float(unit),
            "totalPrice": float(total), "priceDefinition": definition, "payload": payload,
            "good": kind == "product", "position": i + 1, "states": [],
            "customFields": None, "createdAt": "2026-11-02T09:14:00.000+00:00",
            "updatedAt": None}
