"""The HTTP API of the WooCommerce plugin's one-click connect (:mod:`core.connect`).

``POST /api/v1/connect``: the shop's plugin trades a one-time connection code and the shop's
REST credentials for the shop's webhook secret and an API key; the code authenticates, no
API key is needed. 201 with both; 400 for a body that is not a JSON object; 422 naming every
invalid field; 401 for a code that is unknown, expired or used (one answer for all three);
409 when the shop name the code names was given to another connection since. Nothing is
stored on any refusal, and the code stays usable.

``GET /api/v1/shops/<shop>/health`` and ``DELETE /api/v1/shops/<shop>/connection``: with the
API key the connect handed out (any key of the shop's merchant): how the connection is doing,
and disconnecting it. A shop of another merchant, or one of the merchant's connections of
another platform, gets the 404 of an unknown one.

Neither the code, the shop's credentials, the secret nor the key is ever logged. Every
request counts against the HTTP API's rate limit (:mod:`webhooks.limits`).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError, fields, validate

from core.connect import PLATFORM, ConnectRequest, ShopNameTaken, connect, disconnect
from core.connect import owned_connection as owned
from core.connections import SetupError
from core.errors import PayloadError
from core.ledger.db import session_scope
from core.ledger.models import ShopConnection
from core.ledger.store import Ledger
from core.risk.apikeys import authenticate
from core.schemas import StrictSchema, flatten_errors, optional_text, read_json_object, text_field
from core.shop_health import shop_health
from webhooks.receiver import current_kit

__all__ = ["bp"]

bp = Blueprint("connect", __name__, url_prefix="/api/v1")
log = logging.getLogger("invoicekit.receiver")


def _credential(prefix: str) -> fields.String:
    return fields.String(required=True, validate=validate.Regexp(
        rf"^{prefix}_[0-9a-f]{{40}}\Z",
        error=f"must be a WooCommerce REST API {prefix}_ value: {prefix}_ and 40 hex digits"))


class ConnectSchema(StrictSchema):
    code = text_field(64, required=True)
    platform = fields.String(required=True, validate=validate.OneOf(
        [PLATFORM], error="must be woocommerce"))
    shop_url = fields.Url(required=True, schemes={"http", "https"},
                          validate=validate.Length(max=255),
                          error_messages={"invalid": "must be the shop's http(s) address"})
    shop_name = optional_text(255)
    consumer_key = _credential("ck")
    consumer_secret = _credential("cs")
    payment_method = text_field(64, load_default="invoicekit")


_REQUEST = ConnectSchema()


@bp.post("/connect")
def connect_shop() -> tuple[Response, int]:
    kit = current_kit()
    try:
        data = _REQUEST.load(read_json_object(request.get_data(cache=False)))
    except ValidationError as exc:
        raise PayloadError(flatten_errors(exc.messages)) from None
    try:
        with session_scope(kit.engine) as session:
            connected = connect(Ledger(session), kit.hooks, ConnectRequest(**data))
    except ShopNameTaken as exc:
        log.info("POST %s -> 409: %s", request.path, exc)
        return jsonify(error=f"{exc}: ask for a new connection code"), 409
    except SetupError as exc:
        if exc.field != "settings":
            raise  # the platform plugin is missing: the kit's configuration, 500
        # the platform refuses the settings: for WooCommerce, a REST key over http
        raise PayloadError({"shop_url": [
            "the shop's REST API cannot be used at this address; use its https:// address"]},
        ) from None
    log.info("shop %s of merchant %s connected by its plugin", connected.shop,
             connected.merchant_id)
    return jsonify(connected.to_json(kit.settings.public_url)), 201


def _owned(ledger: Ledger, shop: str) -> ShopConnection:
    """The shop, if the request's API key is one of the shop's merchant."""
    key = authenticate(ledger, request.headers.get("Authorization"))
    return owned(ledger, key, shop)


@bp.get("/shops/<shop>/health")
def health(shop: str) -> tuple[Response, int]:
    with session_scope(current_kit().engine, write=False) as session:
        ledger = Ledger(session)
        return jsonify(shop_health(ledger, _owned(ledger, shop))), 200


@bp.delete("/shops/<shop>/connection")
def disconnect_shop(shop: str) -> tuple[Response, int]:
    with session_scope(current_kit().engine) as session:
        ledger = Ledger(session)
        connection = _owned(ledger, shop)
        disconnect(ledger, connection)
        name = connection.name
    log.info("shop %s disconnected by its plugin", name)
    return jsonify(shop=name, status="disconnected"), 200
