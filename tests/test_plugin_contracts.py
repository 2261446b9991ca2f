"""The built-in shop platform plugins pass the contract every plugin runs on itself
(``testkit.contract``)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import responses
from test_billie import BASE, INVOICE_UUID, ORDER_UUID, SETTINGS, as_json, billie_order

import shopware
import woo
from plugins.billie import client as billie_client
from plugins.billie import wire
from plugins.generic.signature import sign as standard_sign
from testkit.contract import (
    ProviderCase,
    ProviderPluginContract,
    ShopCase,
    ShopPluginContract,
)

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


class TestLocalProvider(ProviderPluginContract):
    @pytest.fixture
    def provider_case(self):
        return ProviderCase(provider="local")


@contextmanager
def billie_stand_in(outcome: str):
    """Billie's API for the contract's orders (or failing as asked), with the gross amounts
    it was sent."""
    billie_client.clear_token_cache()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.post(BASE + "oauth/token", json={"token_type": "Bearer", "expires_in": 28800,
                                             "access_token": "eyJ.contract"})
        if outcome == "transient":
            api.post(BASE + "orders", status=503, json={"errors": [{"title": "maintenance"}]})
        elif outcome == "permanent":
            api.post(BASE + "orders", status=400, json={"errors": [
                {"title": "Invalid debtor", "code": "request_validation_error",
                 "source": "debtor"}]})
        else:
            api.add("POST", BASE + "orders", content_type="application/json",
                    body=as_json(billie_order(gross="1190.00", net="1000.00")))
            api.post(BASE + "invoices", status=201, json={"uuid": INVOICE_UUID})
            api.post(BASE + f"orders/{ORDER_UUID}/cancel", status=204)

        def sent() -> list[Decimal]:
            return [wire.loads(call.request.body)["amount"]["gross"] for call in api.calls
                    if call.request.body and "oauth" not in call.request.url]

        yield sent
    billie_client.clear_token_cache()


class TestBillieProvider(ProviderPluginContract):
    @pytest.fixture
    def provider_case(self):
        return ProviderCase(provider="billie", settings=SETTINGS, far_side=billie_stand_in)
