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
"""

from __future__ import annotations

import json
import secrets as secrets_module
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from core.context import AppResponse
from core.errors import ConfigurationError, NotFound, PayloadError, SignatureError
from core.ledger.store import Ledger
from plugins.shopware.signature import check, hex_hmac

__all__ = ["PREVIOUS_SECRET_GRACE", "confirm", "register"]

PREVIOUS_SECRET_GRACE = timedelta(minutes=1)
MAX_CLOCK_SKEW = 5 * 60
STATUS_MAP = {"shipped": "activate", "cancelled": "cancel", "refunded": "cancel"}


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
        if connection.secrets:
            # a shop with a secret re-registers signed with it; after an uninstall,
            # `invoicekit shops reset-registration` lets it start afresh
            check(query, headers.get("shopware-shop-signature"), connection.valid_secrets(),
                  "shopware-shop-signature")
    connection.platform_settings = {**connection.platform_settings, "shop_url": shop_url,
                                    "pending_secret": shop_secret}
    ledger.session.flush()
    return AppResponse(200, {
        "proof": hex_hmac(app_secret, f"{shop_id}{shop_url}{app_name}"),
        "secret": shop_secret,
        "confirmation_url": f"{public_url}/apps/shopware/confirm",
    })


def confirm(body: bytes, headers: Mapping[str, str], ledger: Ledger) -> AppResponse:
    """Step 2: the confirmation, signed with the new secret, carries the API credentials."""
    try:
        data = json.loads(body)
        shop_id = str(data["shopId"])
    except (ValueError, KeyError, TypeError):
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
