"""The merchant's HTTP API, authenticated with the merchant's API key.

``POST /api/v1/eligibility``: may this business buyer pay this cart by invoice? The shop's
checkout asks before it offers invoice payment; the answer is the same decision that runs
when the order is placed (:func:`core.risk.decide.decide`). The decision reads the ledger
and writes nothing (the rate limit counts the call). 401 without a valid key, 400 for a
body that is not a JSON object (or nested too deeply), 413 for one past ``max_body_bytes``,
422 naming every invalid field (a cart of more than :data:`MAX_LINES` lines too), 429 past
the key's rate limit (:mod:`webhooks.limits`). Without ``legal_form`` the form is read from
the company's name ("Muster GmbH"), as the platform plugins do when the order is placed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError, fields, pre_load, validate

from core.context import Company
from core.errors import PayloadError
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.legal_forms import guess_legal_form
from core.money import is_known_currency, to_minor
from core.risk.apikeys import authenticate
from core.risk.decide import decide
from core.risk.rules import Cart, CartLine
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
from webhooks.receiver import current_kit

__all__ = ["MAX_LINES", "BuyerSchema", "bp", "company_of", "known_currency", "minor_amount"]

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class BuyerSchema(StrictSchema):
    company = fields.String(required=True, validate=validate.Length(max=255))  # "": consumer
    legal_form = optional_text(64)
    vat_id = optional_text(32)
    street = text_field(255, required=True)
    postcode = text_field(32, required=True)
    city = text_field(255, required=True)
    country = country_field()
    founded_on = fields.Date(load_default=None, allow_none=True)
    employees = StrictInteger(load_default=None, allow_none=True,
                              validate=validate.Range(min=0))
    business_type = optional_text(64)


class LineSchema(StrictSchema):
    sku = optional_text(64)
    trial = fields.Boolean(load_default=False, truthy={True}, falsy={False})


# A checkout cart's lines: the decision reads each line's SKU and trial flag only. 500 is
# far more than a checkout cart holds and keeps reading a question to milliseconds; 50,000
# short lines fit in the 1 MiB body limit and take most of a second of CPU to read.
MAX_LINES = 500


class EligibilityRequest(StrictSchema):
    amount = MoneyField(required=True)
    currency = fields.String(required=True)
    buyer = fields.Nested(BuyerSchema, required=True)
    lines = fields.List(fields.Nested(LineSchema), load_default=list)

    @pre_load
    def _few_lines(self, data: Any, **kwargs: Any) -> Any:
        """Count the lines before reading each of them."""
        if isinstance(data, dict) and isinstance(data.get("lines"), list) \
                and len(data["lines"]) > MAX_LINES:
            raise ValidationError(f"at most {MAX_LINES} lines", field_name="lines")
        return data


_REQUEST = EligibilityRequest()


def known_currency(data: dict[str, Any]) -> str:
    """The body's ``currency``, if it is a known ISO 4217 code (else 422 naming it)."""
    currency = data["currency"]
    if not is_known_currency(currency):
        raise PayloadError({"currency": ["must be a known upper-case ISO 4217 code"]})
    return currency


def minor_amount(data: dict[str, Any], name: str, currency: str, *, positive: bool) -> int:
    """The amount ``data[name]`` in minor units; positive or at least not negative (else
    422 naming it)."""
    try:
        value = to_minor(data[name], currency)
    except ValueError as exc:
        raise PayloadError({name: [str(exc)]}) from None
    if value < 0 or (positive and value == 0):
        raise PayloadError({name: ["must be positive" if positive else "must not be negative"]})
    return value


def company_of(buyer: dict[str, Any]) -> Company:
    """The buyer as a company; without ``legal_form`` the form is read from the company's
    name ("Muster GmbH"), as the platform plugins do when the order is placed."""
    given = dict(buyer)
    name = given.pop("company")
    given["legal_form"] = given["legal_form"] or guess_legal_form(name)
    return Company(name=name, **given)


def _cart(data: dict[str, Any]) -> Cart:
    currency = known_currency(data)
    total = minor_amount(data, "amount", currency, positive=True)
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
        decision = decide(ledger, kit.hooks, ledger.merchant(key.merchant_id),
                          company_of(data["buyer"]), cart)
        session.rollback()  # a decision writes nothing
    return jsonify(decision.to_json()), 200
