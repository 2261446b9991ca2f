"""Request bodies for Billie's API v2, built from the kit's values; pure, no I/O.

Amounts are the object ``{net, gross, tax}`` of ``Decimal`` with two places and
``tax = gross - net`` (:mod:`plugins.billie.wire` writes them as exact JSON numbers). Line
items are named by the shop's line id (``external_id``), the same in the order and in every
invoice or credit note that names them. External codes are derived from the order and the
operation only, so a repeated call and a state lookup look for the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from core.context import OrderContext
from core.errors import PermanentError
from core.money import Amount, exponent, to_decimal
from core.operations import Operation, OperationLine
from core.snapshot import Buyer, LineKind, OrderSnapshot
from plugins.billie.legal_forms import legal_form_code
from plugins.provider_common import NO_INVOICE_URL, article_units, credit_comment, invoice_url

__all__ = [
    "NO_INVOICE_URL",
    "amount",
    "create_order",
    "credit_note",
    "credit_note_code",
    "invoice",
    "invoice_number",
    "invoice_url",
    "line_items",
    "money",
    "order_code",
    "order_codes",
    "order_number_of",
    "split_street",
    "update_order",
]

MAX_TEXT = 255
_NUMBER_LAST = re.compile(
    r"^(?P<street>.*?[^\d\s,].*?)[\s,]+"
    r"(?P<number>\d+(?:\s?[a-zA-Z])?(?:\s?[-/]\s?\d+(?:\s?[a-zA-Z])?)?)$")
_NUMBER_FIRST = re.compile(r"^(?P<number>\d+(?:\s?[a-zA-Z])?)[\s,]+(?P<street>[^\d\s].*)$")


def money(minor: int, currency: str) -> Decimal:
    """Minor units as Billie's decimal with two places; other exponents are refused."""
    if exponent(currency) != 2:
        raise PermanentError(f"Billie takes amounts with 2 decimals; {currency} has "
                             f"{exponent(currency)}")
    return to_decimal(minor, currency)


def amount(value: Amount, currency: str) -> dict[str, Decimal]:
    """``{net, gross, tax}`` with tax computed as gross - net."""
    gross, net = money(value.gross, currency), money(value.net, currency)
    return {"net": net, "gross": gross, "tax": gross - net}


def split_street(street: str) -> tuple[str, str | None]:
    """``"Hauptstraße 5a"`` → ``("Hauptstraße", "5a")``, ``"10 Rue X"`` → ``("Rue X",
    "10")``; a street without a recognisable number is kept whole (Billie accepts the number
    inside the street)."""
    text = " ".join(street.split())
    for pattern in (_NUMBER_LAST, _NUMBER_FIRST):
        match = pattern.match(text)
        if match:
            return match["street"].rstrip(" ,"), match["number"]
    return text, None


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _text(value: str | None) -> str | None:
    return value.strip()[:MAX_TEXT] if value and value.strip() else None


def address(street: str, postcode: str, city: str, country: str) -> dict[str, Any]:
    """An address as Billie takes it: the house number split from the street."""
    name, number = split_street(street)
    return _compact({"street": _text(name), "house_number": number, "postal_code": postcode,
                     "city": _text(city), "country": country})


def _debtor(buyer: Buyer) -> dict[str, Any]:
    return _compact({
        "merchant_customer_id": _text(buyer.email.casefold()),
        "name": _text(buyer.company),
        "legal_form": legal_form_code(buyer),
        "company_address": address(buyer.street, buyer.postcode, buyer.city,
                                   buyer.country),
        "tax_id": _text(buyer.vat_id),
    })


def _person(buyer: Buyer) -> dict[str, Any]:
    return _compact({"email": buyer.email, "first_name": _text(buyer.first_name),
                     "last_name": _text(buyer.last_name)})


def _order_lines(snapshot: OrderSnapshot) -> list[dict[str, Any]]:
    """The articles with a price, each with its line total (as Billie's Shopware module
    sends them); shipping and fees are in the order amount only."""
    return [
        {"external_id": line.line_id, "title": _text(line.name) or line.line_id,
         "quantity": line.quantity,
         "amount": amount(Amount(line.gross, line.net, line.gross - line.net),
                          snapshot.currency)}
        for line in snapshot.lines
        if line.kind is LineKind.PRODUCT and line.quantity > 0 and line.gross > 0
    ]


def order_code(snapshot: OrderSnapshot) -> str:
    """The order's ``external_code`` at Billie (:func:`external_code`)."""
    return external_code(snapshot.shop, snapshot.order_number)


def external_code(shop: str, order_number: str) -> str:
    """An order's ``external_code`` at Billie: ``<shop>-<order number>``, so two shops of
    one merchant (one Billie account) whose order numbers overlap do not collide."""
    return f"{shop}-{order_number}"[:MAX_TEXT]


def order_codes(snapshot: OrderSnapshot) -> tuple[str, str]:
    """The codes an order may have at Billie, newest first: ``<shop>-<order number>``, and
    the bare order number that orders placed before external codes carried the shop have."""
    return order_code(snapshot), snapshot.order_number[:MAX_TEXT]


def order_number_of(code: str, shop: str) -> str:
    """The shop's order number in an external code, whether it carries the shop or not."""
    return code.removeprefix(f"{shop}-") if code.startswith(f"{shop}-") else code


def create_order(snapshot: OrderSnapshot, operation: Operation,
                 duration_days: int) -> dict[str, Any]:
    """``POST orders``: the placement of the whole order, identified by
    :func:`order_code` (``external_code``)."""
    return _compact({
        "amount": amount(operation.amount, snapshot.currency),
        "duration": duration_days,
        "external_code": order_code(snapshot),
        "debtor": _debtor(snapshot.buyer),
        "debtor_person": _person(snapshot.buyer),
        "line_items": _order_lines(snapshot),
    })


def line_items(lines: Iterable[OperationLine]) -> list[dict[str, Any]]:
    """``[{external_id, quantity}]`` for the article units an operation covers."""
    return [{"external_id": line_id, "quantity": quantity}
            for line_id, quantity in article_units(lines).items()]


def invoice_number(order: OrderContext) -> str:
    """The invoice number of the order's next activation: ``<order code>-<n>``
    (``<shop>-<order number>-<n>``); Billie shows it to the buyer."""
    return f"{order_code(order.snapshot)}-{len(order.invoices) + 1}"[:MAX_TEXT]


def invoice(order_uuid: str, number: str, url: str, operation: Operation,
            currency: str, *, partial: bool = True) -> dict[str, Any]:
    """``POST invoices``: an activation of ``operation.amount``; a ``partial`` one names the
    shipped units."""
    return _compact({
        "orders": [order_uuid],
        "external_code": number,
        "invoice_url": url,
        "shipping_info": {},
        "amount": amount(operation.amount, currency),
        "line_items": (line_items(operation.lines) or None) if partial else None,
    })


def credit_note_code(order: OrderContext, operation: Operation) -> str:
    """``CN-<order number>-<first 8 characters of the idempotency key>``."""
    return f"CN-{order.snapshot.order_number}-{operation.idempotency_key[:8]}"[:MAX_TEXT]


def credit_note(code: str, value: Amount, operation: Operation, currency: str, *,
                with_lines: bool = True) -> dict[str, Any]:
    """``POST invoices/{uuid}/credit-notes``: ``value`` credited, with the returned units
    when the operation names lines."""
    comment = credit_comment(operation)
    return _compact({
        "external_code": code,
        "amount": amount(value, currency),
        "comment": comment[:MAX_TEXT],
        "line_items": (line_items(operation.lines) or None) if with_lines else None,
    })


def update_order(target: Amount, currency: str) -> dict[str, Any]:
    """``POST orders/{uuid}``: the order's new amount (lower after a reduction, higher after
    an increase)."""
    return {"amount": amount(target, currency)}
