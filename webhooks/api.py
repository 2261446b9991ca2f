"""The merchant's HTTP API, authenticated with the merchant's API key.

``POST /api/v1/eligibility``: may this business buyer pay this cart by invoice? The shop's
checkout asks before it offers invoice payment; the answer is the same decision that runs
when the order is placed (:func:`core.risk.decide.decide`). It reads the ledger and writes
nothing. 401 without a valid key, 400 for a body that is not a JSON object, 422 naming
every invalid field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from core.context import Company
from core.errors import PayloadError
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.money import is_known_currency, to_minor
from core.risk.apikeys import authenticate
from core.risk.decide import decide
from core.risk.rules import Cart, CartLine
from core.schemas import MoneyField, StrictInteger, flatten_errors, read_json_object
from webhooks.receiver import current_kit

__all__ = ["bp"]

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _text(maximum: int, *, required: bool = True) -> fields.String:
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=maximum))
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=maximum))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class BuyerSchema(_Strict):
    company = fields.String(required=True, validate=validate.Length(max=255))  # "": consumer
    legal_form = _text(64, required=False)
    vat_id = _text(32, required=False)
    street = _text(255)
    postcode = _text(32)
    city = _text(255)
    country = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Z]{2}$", error="must be an upper-case ISO 3166-1 alpha-2 code"))
    founded_on = fields.Date(load_default=None, allow_none=True)
    employees = StrictInteger(load_default=None, allow_none=True,
                              validate=validate.Range(min=0))
    business_type = _text(64, required=False)


class LineSchema(_Strict):
    sku = _text(64, required=False)
    trial = fields.Boolean(load_default=False, truthy={True}, falsy={False})


class EligibilityRequest(_Strict):
    amount = MoneyField(required=True)
    currency = fields.String(required=True)
    buyer = fields.Nested(BuyerSchema, required=True)
    lines = fields.List(fields.Nested(LineSchema), load_default=list)


_REQUEST = EligibilityRequest()


def _cart(data: dict[str, Any]) -> Cart:
    currency = data["currency"]
    if not is_known_currency(currency):
        raise PayloadError({"currency": ["must be a known upper-case ISO 4217 code"]})
    try:
        total = to_minor(data["amount"], currency)
    except ValueError as exc:
        raise PayloadError({"amount": [str(exc)]}) from None
    if total <= 0:
        raise PayloadError({"amount": ["must be positive"]})
    return Cart(currency, total, tuple(CartLine(line["sku"], line["trial"])
                                       for line in data["lines"]))


@bp.post("/eligibility")
def eligibility() -> tuple[Response, int]:
    kit = current_kit()
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        key = authenticate(ledger, request.headers.get("Authorization"))
        try:
            data = _REQUEST.load(read_json_object(request.get_data(cache=False)))
        except ValidationError as exc:
            raise PayloadError(flatten_errors(exc.messages)) from None
        cart = _cart(data)
        company = Company(name=data["buyer"].pop("company"), **data["buyer"])
        decision = decide(ledger, kit.hooks, ledger.merchant(key.merchant_id), company, cart)
        session.rollback()  # a decision writes nothing
    return jsonify(decision.to_json()), 200
