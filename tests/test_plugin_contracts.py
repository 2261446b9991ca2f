"""The built-in shop platform plugins pass the contract every plugin runs on itself
(``core.testing.contract``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import shopware
import woo
from core.testing.contract import ShopCase, ShopPluginContract
from plugins.generic.signature import sign as standard_sign

GENERIC = Path(__file__).resolve().parent.parent / "docs" / "examples" / "generic"


class TestWooCommerce(ShopPluginContract):
    @pytest.fixture
    def shop_case(self):
        return ShopCase(platform="woocommerce", deliveries=[
            woo.body(woo.order()), woo.body(woo.order(4712, status="completed"))],
            sign=lambda body, secret: woo.headers(body, secret),
            secret="wc-secret-&amp;-1", previous_secret="wc-old-secret")


def standard_webhooks(body: bytes, secret: str) -> dict[str, str]:
    now = int(time.time())
    return {"webhook-id": "msg_contract", "webhook-timestamp": str(now),
            "webhook-signature": standard_sign("msg_contract", now, body, secret)}


class TestGeneric(ShopPluginContract):
    @pytest.fixture
    def shop_case(self):
        return ShopCase(platform="generic", deliveries=[
            path.read_bytes() for path in sorted(GENERIC.glob("*.json"))[:3]],
            sign=standard_webhooks, headers={"Content-Type": "application/json"},
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            previous_secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")


def shopware_delivery(event_id: str) -> bytes:
    body, _ = shopware.webhook("checkout.order.placed", shopware.order(), "unused", event_id,
                               timestamp=1_796_000_000)
    return body


class TestShopware(ShopPluginContract):
    @pytest.fixture
    def shop_case(self):
        return ShopCase(platform="shopware", deliveries=[shopware_delivery("ev-1")],
                        sign=lambda body, secret: {"shopware-shop-signature":
                                                   shopware.hex_hmac(secret, body)},
                        headers={"Content-Type": "application/json"})
