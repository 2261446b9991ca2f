"""The Shopware app registration handshake.

1. Shopware ``GET``s ``/apps/shopware/register?merchant=<id>&shop-id&shop-url&timestamp``
   signed (``shopware-app-signature``) with the app secret over the raw query string. The
   kit answers ``proof``, a new per-shop ``secret`` and the ``confirmation_url``; the shop's
   connection (``shopware-<shop id>``) is created for the merchant named in the query,
   with the new secret pending.
2. Shopware ``POST``s the confirmation (Admin API ``apiKey``/``secretKey``) signed with the
   new secret. The kit stores the credentials and makes the secret current; on a
   re-registration the previous secret stays valid for a minute, because events already
   queued in Shopware still carry it.

Shopware registers when the app is installed and again, with new API credentials, when the
shop's URL changed (App/AppUrlChangeResolver/AbstractAppUrlChangeStrategy.php
``reRegisterApp``); both requests carry the app signature only (App/Lifecycle/Registration/
PrivateHandshake.php), so that is what a re-registration needs; a shop signature, if sent,
must be right. Each signed request registers once: a replay, before or after its
confirmation, is refused and hands out no secret. When the app is uninstalled Shopware
posts ``app.deleted`` (App/Event/AppDeletedEvent.php) signed with the shop's secret: the
kit forgets the registration (:func:`deleted`), and a new install registers afresh.
"""

from __future__ import annotations

import secrets as secrets_module
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from core.context import AppResponse
from core.errors import ConfigurationError, NotFound, PayloadError, SignatureError
from core.ledger.store import Ledger
from core.schemas import read_json_object
from plugins.shopware.payment import method_names
from plugins.shopware.signature import check, hex_hmac

__all__ = ["KEPT_ON_UNINSTALL", "PREVIOUS_SECRET_GRACE", "confirm", "deleted", "register"]

PREVIOUS_SECRET_GRACE = timedelta(minutes=1)
MAX_CLOCK_SKEW = 5 * 60
STATUS_MAP = {"shipped": "activate", "cancelled": "cancel", "refunded": "cancel"}
# What an uninstall leaves of a connection's settings: the merchant's choices, the shop's
# URL, and the registration requests already used (they stay used).
KEPT_ON_UNINSTALL = ("app_payment_methods", "payment_methods", "shop_url", "transitions",
                     "used_registrations")


def _app(settings: Mapping[str, Any]) -> tuple[str, str]:
    name, secret = settings.get("app_name"), settings.get("app_secret")
    if not name or not secret:
        raise ConfigurationError("set app_name and app_secret under [platforms.shopware] in "
                                 "invoicekit.toml (see docs/shopware.md)")
    return str(name), str(secret)


def app_secret_for(settings: Mapping[str, Any], merchant_id: int) -> str:
    """The app secret in one merchant's manifest, derived from the instance's app secret:
    a merchant's manifest can register shops for that merchant only."""
    return hex_hmac(_app(settings)[1], f"invoicekit-merchant:{merchant_id}")


def _one(query: Mapping[str, list[str]], name: str) -> str:
    values = query.get(name)
    if not values or not values[0]:
        raise PayloadError({name: ["is required"]})
    return values[0]


def register(query: str, headers: Mapping[str, str], ledger: Ledger,
             settings: Mapping[str, Any], public_url: str) -> AppResponse:
    """Step 1: verify the app signature, answer proof, secret and confirmation URL."""
    app_name, _ = _app(settings)
    values = parse_qs(query, keep_blank_values=True)
    try:
        merchant_id = int(_one(values, "merchant"))
    except ValueError:
        raise PayloadError({"merchant": ["must be a merchant id"]}) from None
    app_secret = app_secret_for(settings, merchant_id)
    check(query, headers.get("shopware-app-signature"), [app_secret], "shopware-app-signature")
    shop_id, shop_url = _one(values, "shop-id"), _one(values, "shop-url")
    try:
        timestamp = int(_one(values, "timestamp"))
    except ValueError:
        raise PayloadError({"timestamp": ["must be a Unix time"]}) from None
    if abs(time.time() - timestamp) > MAX_CLOCK_SKEW:
        raise SignatureError("the registration request is too old or from the future")
    if not (shop_id.isalnum() and len(shop_id) <= 64):
        raise PayloadError({"shop-id": ["must be a Shopware shop id"]})

    shop_secret = secrets_module.token_urlsafe(48)  # 64 characters
    try:
        connection = ledger.connection_by_external_id("shopware", shop_id)
    except NotFound:
        ledger.merchant(merchant_id)
        connection = ledger.add_connection(
            name=f"shopware-{shop_id.lower()}", merchant_id=merchant_id, platform="shopware",
            external_id=shop_id, status_map=STATUS_MAP,
            platform_settings={"payment_methods": ["payment_invoice"]})
    else:
        if connection.merchant_id != merchant_id:
            raise SignatureError("this shop is registered for another merchant")
        shop_signature = headers.get("shopware-shop-signature")
        if shop_signature is not None and connection.secrets:
            check(query, shop_signature, connection.valid_secrets(), "shopware-shop-signature")
    used = _used_registrations(connection.platform_settings, timestamp)
    request_id = str(headers.get("shopware-app-signature")).strip().lower()[:32]
    if request_id in used:
        raise SignatureError("this registration request was used already")
    used[request_id] = timestamp
    # the app's own payment method ("Purchase on account (B2B)") is always one of the
    # connection's invoice payment methods, besides those the merchant names
    connection.platform_settings = {**connection.platform_settings, "shop_url": shop_url,
                                    "pending_secret": shop_secret, "used_registrations": used,
                                    "app_payment_methods": method_names(app_name)}
    ledger.session.flush()
    return AppResponse(200, {
        "proof": hex_hmac(app_secret, f"{shop_id}{shop_url}{app_name}"),
        "secret": shop_secret,
        "confirmation_url": f"{public_url}/apps/shopware/confirm",
    })


def _used_registrations(settings: Mapping[str, Any], now: int) -> dict[str, int]:
    """The registration requests used within the time a request is valid (older ones are
    refused for their age anyway): signature prefix -> timestamp."""
    used = settings.get("used_registrations") or {}
    return {k: int(v) for k, v in used.items() if abs(now - int(v)) <= 2 * MAX_CLOCK_SKEW}


def confirm(body: bytes, headers: Mapping[str, str], ledger: Ledger) -> AppResponse:
    """Step 2: the confirmation, signed with the new secret, carries the API credentials."""
    data = read_json_object(body)  # 400 for a body that is not a JSON object
    try:
        shop_id = str(data["shopId"])
    except KeyError:
        raise PayloadError({"shopId": ["is required"]}) from None
    connection = ledger.connection_by_external_id("shopware", shop_id)
    pending = connection.platform_settings.get("pending_secret")
    check(body, headers.get("shopware-shop-signature"), [pending] if pending else [],
          "shopware-shop-signature")
    missing = [k for k in ("apiKey", "secretKey") if not data.get(k)]
    if missing:
        raise PayloadError({k: ["is required"] for k in missing})
    settings = {k: v for k, v in connection.platform_settings.items() if k != "pending_secret"}
    settings.update(client_id=data["apiKey"], client_secret=data["secretKey"],
                    shop_url=data.get("shopUrl") or settings.get("shop_url"))
    connection.platform_settings = settings
    previous = connection.secrets[:1]
    connection.secrets = [pending, *previous]
    connection.previous_secret_until = (datetime.now(UTC) + PREVIOUS_SECRET_GRACE
                                        if previous else None)
    ledger.session.flush()
    return AppResponse(200, {"status": "registered", "shop": connection.name})


def deleted(body: bytes, headers: Mapping[str, str], ledger: Ledger) -> AppResponse:
    """``app.deleted``: the app was uninstalled from the shop. Forget the registration
    (secrets, API credentials); the orders, the status map and the merchant's settings stay,
    and a new install registers afresh. Signed with the shop's secret; once forgotten, a
    repeat changes nothing."""
    data = read_json_object(body)
    try:
        shop_id, event = str(data["source"]["shopId"]), data["data"]["event"]
    except (KeyError, TypeError):
        raise PayloadError({"source.shopId": ["is required"]}) from None
    if event != "app.deleted":
        raise PayloadError({"data.event": ["must be app.deleted"]})
    connection = ledger.connection_by_external_id("shopware", shop_id)
    if not connection.secrets:
        return AppResponse(200, {"status": "unregistered", "shop": connection.name})
    check(body, headers.get("shopware-shop-signature"), connection.valid_secrets(),
          "shopware-shop-signature")
    connection.platform_settings = {k: v for k, v in connection.platform_settings.items()
                                    if k in KEPT_ON_UNINSTALL}
    connection.secrets = []
    connection.previous_secret_until = None
    ledger.session.flush()
    return AppResponse(200, {"status": "unregistered", "shop": connection.name})
