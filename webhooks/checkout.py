"""The HTTP API of providers' checkout sessions (:mod:`core.checkout`), for shops whose
checkout shows the provider's widget (Billie).

``POST /api/v1/checkout-sessions``: open a session for the cart; the answer says whether a
widget must be shown and what to give it. ``POST /api/v1/checkout-sessions/<id>/confirm``:
confirm it for the shop's new order; the provider creates the order, which the placement
adopts. Both with the merchant's API key, for one of its shops (another shop's: 404). 422
names every invalid field; 502 when the provider refused or could not be reached (nothing
is kept, the shop may ask again); 409 for a session confirmed for another order.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select

from core.checkout import Conflict, Shop, confirm_session, open_session
from core.connect import NO_SUCH_SHOP
from core.context import CheckoutCart, CheckoutConfirmation
from core.errors import InvoicekitError, NotFound, PayloadError, Unauthenticated
from core.ledger.db import session_scope
from core.ledger.models import ShopConnection
from core.ledger.store import Ledger
from core.risk.apikeys import authenticate
from core.schemas import (
    MoneyField,
    StrictInteger,
    StrictSchema,
    country_field,
    flatten_errors,
    optional_text,
    read_json_object,
    text_field,
)
from webhooks.api import MAX_LINES, BuyerSchema, company_of, known_currency, minor_amount
from webhooks.receiver import current_kit

__all__ = ["bp"]

bp = Blueprint("checkout", __name__, url_prefix="/api/v1")
log = logging.getLogger("invoicekit.receiver")

# what the kit itself answers; every other error of a provider's hook is the provider's
_OURS = (NotFound, PayloadError, Unauthenticated, Conflict)


class PersonSchema(StrictSchema):
    first_name = optional_text(255)
    last_name = optional_text(255)
    email = optional_text(255)
    phone = optional_text(64)


class AddressSchema(StrictSchema):
    street = text_field(255, required=True)
    postcode = text_field(32, required=True)
    city = text_field(255, required=True)
    country = country_field()


class CartLineSchema(StrictSchema):
    sku = optional_text(64)
    title = text_field(255, required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=1))
    amount = MoneyField(required=True)
    tax = MoneyField(load_default=Decimal(0))


class _OrderTotal(StrictSchema):
    """The shop, and the gross total with the tax in it (decimal strings)."""

    shop = text_field(64, required=True)
    amount = MoneyField(required=True)
    tax = MoneyField(load_default=Decimal(0))
    currency = fields.String(required=True)


class OpenRequest(_OrderTotal):
    customer_id = text_field(255, required=True)
    buyer = fields.Nested(BuyerSchema, required=True)
    person = fields.Nested(PersonSchema, load_default=dict)
    delivery = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    lines = fields.List(fields.Nested(CartLineSchema), load_default=list,
                        validate=validate.Length(max=MAX_LINES))


class ConfirmRequest(_OrderTotal):
    order_number = text_field(64, required=True)
    answer = fields.Dict(required=True)


def _load(schema: StrictSchema, *, exact_numbers: bool = False) -> dict[str, Any]:
    """The body by ``schema``; with ``exact_numbers`` JSON numbers (the widget's amounts)
    are read as ``Decimal``."""
    try:
        return schema.load(read_json_object(request.get_data(cache=False),
                                            exact_numbers=exact_numbers))
    except ValidationError as exc:
        raise PayloadError(flatten_errors(exc.messages)) from None


def _cart(data: dict[str, Any]) -> CheckoutCart:
    currency = known_currency(data)
    lines = tuple({**line, "amount": minor_amount(line, "amount", currency, positive=False),
                   "tax": minor_amount(line, "tax", currency, positive=False)}
                  for line in data["lines"])
    return CheckoutCart(
        shop=data["shop"], customer_id=data["customer_id"], currency=currency,
        amount=minor_amount(data, "amount", currency, positive=True),
        tax=minor_amount(data, "tax", currency, positive=False),
        company=company_of(data["buyer"]),
        person={k: v for k, v in data["person"].items() if v}, delivery=data["delivery"],
        lines=lines)


def _provider_failed(provider: str, exc: InvoicekitError) -> tuple[Response, int]:
    log.warning("POST %s -> 502: %s: %s", request.path, provider, exc)
    return jsonify(error=f"{provider} could not be asked: {exc}"), 502


def _asked(name: str) -> Shop:
    """The shop the body names, if the request's API key is one of its merchant's."""
    with session_scope(current_kit().engine, write=False) as session:
        ledger = Ledger(session)
        key = authenticate(ledger, request.headers.get("Authorization"))
        found = session.scalars(
            select(ShopConnection).where(ShopConnection.name == name)).one_or_none()
        if found is None or found.merchant_id != key.merchant_id:
            raise NotFound(NO_SUCH_SHOP)
        return Shop.of(found)


@bp.post("/checkout-sessions")
def open_checkout_session() -> tuple[Response, int]:
    kit = current_kit()
    data = _load(OpenRequest())
    shop = _asked(data["shop"])
    cart = _cart(data)
    try:
        opened = open_session(kit.engine, kit.hooks, shop, cart, datetime.now(UTC))
    except _OURS:
        raise
    except InvoicekitError as exc:
        return _provider_failed(shop.provider, exc)
    if opened is None:
        return jsonify(provider=shop.provider, session_id=None, widget=None), 200
    return jsonify(provider=shop.provider, session_id=opened.session_id,
                   expires_at=opened.expires_at.isoformat() if opened.expires_at else None,
                   widget=dict(opened.widget)), 200


@bp.post("/checkout-sessions/<session_id>/confirm")
def confirm_checkout_session(session_id: str) -> tuple[Response, int]:
    kit = current_kit()
    data = _load(ConfirmRequest(), exact_numbers=True)
    shop = _asked(data["shop"])
    currency = known_currency(data)
    confirmation = CheckoutConfirmation(
        session_id=session_id, shop=shop.name, order_number=data["order_number"],
        currency=currency, amount=minor_amount(data, "amount", currency, positive=True),
        tax=minor_amount(data, "tax", currency, positive=False), answer=data["answer"])
    try:
        confirmed = confirm_session(kit.engine, kit.hooks, shop, confirmation,
                                    datetime.now(UTC))
    except Conflict as exc:
        return jsonify(error=str(exc)), 409
    except _OURS:
        raise
    except InvoicekitError as exc:
        return _provider_failed(shop.provider, exc)
    return jsonify(confirmed.to_json()), 200
