"""Request bodies for Mondu's API v1, built from the kit's values; pure, no I/O.

Amounts are integer cents (``*_cents`` fields), exactly the kit's minor units. Field names
follow Mondu's API reference and its shop plugins (sources in ``docs/mondu.md``):

* order: ``external_reference_id``, ``currency``, ``payment_method``, ``net_term``,
  ``gross_amount_cents``, ``buyer``, ``billing_address``, ``shipping_address`` and
  ``lines[{tax_cents, shipping_price_cents, discount_cents, buyer_fee_cents,
  line_items[{external_reference_id, product_id, title, quantity,
  net_price_per_item_cents, net_price_cents, tax_cents}]}]`` (WooCommerce plugin
  ``OrderData::order_data_from_wc_order``, Shopware plugin ``OrderLinesService``);
* invoice: ``external_reference_id``, ``invoice_url``, ``gross_amount_cents``,
  ``tax_cents``, ``line_items[{external_reference_id, quantity}]`` (WooCommerce
  ``OrderData::invoice_data_from_wc_order``, Shopware ``InvoiceDataService``);
* credit note: ``external_reference_id``, ``gross_amount_cents``, ``tax_cents``, ``notes``,
  ``line_items`` (WooCommerce ``OrderData::create_credit_note``);
* adjust: ``external_reference_id``, ``currency``, ``amount{gross_amount_cents,
  net_price_cents, tax_cents}`` and ``lines`` (Shopware ``AdjustOrderSubscriber``).

References are derived from the order and the operation only, so a repeated call and a state
lookup look for the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.context import OrderContext
from core.errors import PermanentError
from core.money import Amount, exponent
from core.operations import Operation, OperationLine
from core.snapshot import Buyer, LineKind, OrderSnapshot
from plugins.provider_common import article_units, credit_comment, invoice_url

__all__ = ["adjust", "confirm", "create_order", "credit_note", "credit_note_code", "invoice",
           "invoice_number", "invoice_url", "line_items", "order_reference"]

MAX_TEXT = 255


def _cents_currency(currency: str) -> None:
    """Mondu's ``*_cents`` fields are hundredths; other exponents are refused."""
    if exponent(currency) != 2:
        raise PermanentError(f"Mondu takes amounts in cents; {currency} has "
                             f"{exponent(currency)} decimals")


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _text(value: str | None) -> str | None:
    return value.strip()[:MAX_TEXT] if value and value.strip() else None


def order_reference(order: OrderContext) -> str:
    """The order's ``external_reference_id`` at Mondu: ``<shop>/<order number>``, so that two
    shops of one merchant with the same order numbers never meet."""
    return f"{order.shop}/{order.snapshot.order_number}"[:1024]


def _address(buyer: Buyer) -> dict[str, Any]:
    return _compact({"country_code": buyer.country, "city": _text(buyer.city),
                     "zip_code": buyer.postcode, "address_line1": _text(buyer.street),
                     "address_line2": _text(buyer.address_2)})


def _buyer(buyer: Buyer) -> dict[str, Any]:
    return _compact({"email": buyer.email, "first_name": _text(buyer.first_name),
                     "last_name": _text(buyer.last_name), "company_name": _text(buyer.company),
                     "legal_form": _text(buyer.legal_form), "phone": _text(buyer.phone),
                     "vat_number": _text(buyer.vat_id), "is_registered": True})


def _per_item(net: int, quantity: int) -> int:
    return int((Decimal(net) / quantity).to_integral_value(rounding=ROUND_HALF_UP))


def _lines(snapshot: OrderSnapshot) -> list[dict[str, Any]]:
    """One Mondu line: the articles with their net and tax, shipping and positive fees as
    ``shipping_price_cents`` / ``buyer_fee_cents`` (net), negative fees as
    ``discount_cents``; ``tax_cents`` is all the order's tax, so that
    net + tax + shipping + fee - discount = gross to the cent."""
    items, shipping, fees, discount = [], 0, 0, 0
    for line in snapshot.lines:
        if line.kind is LineKind.PRODUCT:
            if line.quantity > 0:
                items.append(_compact({
                    "external_reference_id": line.line_id, "product_id": line.sku,
                    "title": _text(line.name) or line.line_id, "quantity": line.quantity,
                    "net_price_per_item_cents": _per_item(line.net, line.quantity),
                    "net_price_cents": line.net, "tax_cents": line.tax}))
        elif line.kind is LineKind.SHIPPING:
            shipping += line.net
        elif line.net >= 0:
            fees += line.net
        else:
            discount -= line.net
    tax = sum(line.tax for line in snapshot.lines)
    return [{"tax_cents": tax, "shipping_price_cents": shipping, "discount_cents": discount,
             "buyer_fee_cents": fees, "line_items": items}]


def create_order(order: OrderContext, operation: Operation, net_term: int,
                 payment_method: str) -> dict[str, Any]:
    """``POST orders``: the placement of the whole order (no hosted checkout: the kit
    places orders the shop has taken already)."""
    snapshot = order.snapshot
    _cents_currency(snapshot.currency)
    address = _address(snapshot.buyer)
    return {
        "currency": snapshot.currency,
        "external_reference_id": order_reference(order),
        "payment_method": payment_method,
        "net_term": net_term,
        "gross_amount_cents": operation.amount.gross,
        "buyer": _buyer(snapshot.buyer),
        "billing_address": address,
        "shipping_address": address,
        "lines": _lines(snapshot),
    }


def confirm(order: OrderContext) -> dict[str, Any]:
    """``POST orders/{uuid}/confirm``: the shop's final order reference."""
    return {"external_reference_id": order_reference(order)}


def line_items(lines: Iterable[OperationLine]) -> list[dict[str, Any]]:
    """``[{external_reference_id, quantity}]`` for the article units an operation covers."""
    return [{"external_reference_id": line_id, "quantity": quantity}
            for line_id, quantity in article_units(lines).items()]


def invoice_number(order: OrderContext) -> str:
    """The invoice number of the order's next activation: ``<order number>-<n>``."""
    return f"{order.snapshot.order_number}-{len(order.invoices) + 1}"[:MAX_TEXT]


def invoice(number: str, url: str, operation: Operation, currency: str) -> dict[str, Any]:
    """``POST orders/{uuid}/invoices``: an activation of ``operation.amount``, with the
    shipped units when the operation names them."""
    _cents_currency(currency)
    return _compact({
        "external_reference_id": number,
        "invoice_url": url,
        "gross_amount_cents": operation.amount.gross,
        "tax_cents": operation.amount.tax,
        "line_items": line_items(operation.lines) or None,
    })


def credit_note_code(order: OrderContext, operation: Operation) -> str:
    """``CN-<order number>-<first 8 characters of the idempotency key>``."""
    return f"CN-{order.snapshot.order_number}-{operation.idempotency_key[:8]}"[:MAX_TEXT]


def credit_note(code: str, value: Amount, operation: Operation, *,
                with_lines: bool = True) -> dict[str, Any]:
    """``POST invoices/{uuid}/credit_notes``: ``value`` credited, with the returned units
    when the operation names lines."""
    notes = credit_comment(operation)
    return _compact({
        "external_reference_id": code,
        "gross_amount_cents": value.gross,
        "tax_cents": value.tax,
        "notes": notes[:MAX_TEXT],
        "line_items": (line_items(operation.lines) or None) if with_lines else None,
    })


def adjust(order: OrderContext, target: Amount) -> dict[str, Any]:
    """``POST orders/{uuid}/adjust``: the order's new, lower amount; the shop's lines go
    along when they add up to it (a discount transfer's do not)."""
    snapshot = order.snapshot
    body: dict[str, Any] = {
        "external_reference_id": order_reference(order),
        "currency": snapshot.currency,
        "amount": {"gross_amount_cents": target.gross, "net_price_cents": target.net,
                   "tax_cents": target.tax},
    }
    if snapshot.total == target.gross and any(line.quantity for line in snapshot.products):
        body["lines"] = _lines(snapshot)
    return body
