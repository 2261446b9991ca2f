"""Shopware 6 app traffic in the exact wire format: registration, confirmation, webhooks."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from plugins.shopware.signature import hex_hmac

APP_NAME = "InvoiceKit"
APP_SECRET = "b2b-invoice-kit-app-secret"
SHOP_ID = "Xk2vT9qLm4RwZ8Pc"
SHOP_URL = "https://shop.beispiel-b2b.de"


def registration(merchant: int = 3333, shop_id: str = SHOP_ID, shop_secret: str | None = None,
                 timestamp: int | None = None) -> tuple[str, dict[str, str]]:
    """The query string and headers of Shopware's registration request, signed with the app
    secret of the merchant's manifest."""
    from plugins.shopware.registration import app_secret_for

    query = (f"merchant={merchant}&shop-id={shop_id}&shop-url={SHOP_URL}"
             f"&timestamp={timestamp or int(time.time())}")
    app_secret = app_secret_for({"app_name": APP_NAME, "app_secret": APP_SECRET}, merchant)
    headers = {"shopware-app-signature": hex_hmac(app_secret, query), "sw-version": "6.6.9.0"}
    if shop_secret:
        headers["shopware-shop-signature"] = hex_hmac(shop_secret, query)
    return query, headers


def confirmation(secret: str, shop_id: str = SHOP_ID) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"apiKey": "SWIAEXAMPLEKEY0000000000001",
                       "secretKey": "c2VjcmV0LWtleS1leGFtcGxlLW5vdC1yZWFs",
                       "timestamp": str(int(time.time())), "shopUrl": SHOP_URL,
                       "shopId": shop_id}).encode()
    return body, {"shopware-shop-signature": hex_hmac(secret, body),
                  "Content-Type": "application/json"}


def _item(item_id: str, kind: str, label: str, quantity: int, unit: float, rate: float,
          number: str | None = None) -> dict[str, Any]:
    return {"id": item_id, "type": kind, "label": label, "quantity": quantity,
            "unitPrice": unit, "totalPrice": round(unit * quantity, 2),
            "payload": {"productNumber": number} if number else {},
            "priceDefinition": {"taxRules": [{"taxRate": rate, "percentage": 100}],
                                "type": "quantity"},
            "apiAlias": "order_line_item", "createdAt": "2026-11-02T09:14:00.000+00:00",
            "updatedAt": None}


def order(order_id: str = "7be336f9da6b81f8cf753ad6436b6200", number: str = "10087",
          updated: str = "2026-11-02T09:14:00.000+00:00") -> dict[str, Any]:
    """An invoice order (gross prices): 2 chairs, a WELCOME10 promotion, 10 reams of paper
    at 7 %, 3 lamps, a handling fee and shipping; 549.73 EUR. Money as JSON floats."""
    return {
        "id": order_id, "orderNumber": number, "apiAlias": "order",
        "currency": {"isoCode": "EUR", "apiAlias": "currency"},
        "amountTotal": 549.73, "amountNet": 467.0, "positionPrice": 537.83,
        "shippingTotal": 11.9, "taxStatus": "gross",
        "price": {"netPrice": 467.0, "totalPrice": 549.73, "positionPrice": 537.83,
                  "rawTotal": 549.73, "taxStatus": "gross",
                  "calculatedTaxes": [{"tax": 79.23, "taxRate": 19, "price": 496.23},
                                      {"tax": 3.5, "taxRate": 7, "price": 53.5}]},
        "shippingCosts": {"unitPrice": 11.9, "totalPrice": 11.9, "quantity": 1,
                          "calculatedTaxes": [{"tax": 1.9, "taxRate": 19, "price": 11.9}],
                          "taxRules": [{"taxRate": 19, "percentage": 100}]},
        "orderCustomer": {"email": "einkauf@muster.example", "firstName": "Erika",
                          "lastName": "Muster", "company": "Muster B\u00fcrobedarf GmbH",
                          "vatIds": ["DE136695976"]},
        "billingAddressId": "ad1",
        "addresses": [{"id": "ad1", "company": "Muster B\u00fcrobedarf GmbH",
                       "firstName": "Erika", "lastName": "Muster",
                       "street": "Hauptstra\u00dfe 5", "zipcode": "10115", "city": "Berlin",
                       "country": {"iso": "DE", "apiAlias": "country"}}],
        "lineItems": [
            _item("li1chair", "product", "Office chair", 2, 183.5, 19, "CH-2"),
            _item("li2promo", "promotion", "WELCOME10", 1, -10.0, 19),
            _item("li3paper", "product", "Printer paper A4", 10, 5.35, 7, "PA-4"),
            _item("li4lamp", "product", "Desk lamp", 3, 41.65, 19, "LA-3"),
            _item("li5fee", "custom", "Handling", 1, 2.38, 19),
        ],
        "transactions": [{"id": "tr1", "paymentMethodId": "pm-invoice",
                          "paymentMethod": {"id": "pm-invoice",
                                            "technicalName": "payment_invoice",
                                            "handlerIdentifier": "Shopware\\Core\\Checkout\\"
                                            "Payment\\Cart\\PaymentHandler\\InvoicePayment"},
                          "amount": {"totalPrice": 549.73}, "createdAt":
                              "2026-11-02T09:14:00.000+00:00", "updatedAt": None}],
        "deliveries": [{"id": "de1", "shippingCosts": {"totalPrice": 11.9},
                        "createdAt": "2026-11-02T09:14:00.000+00:00", "updatedAt": None}],
        "createdAt": "2026-11-02T09:14:00.000+00:00", "updatedAt": updated,
    }


def webhook(event: str, data: dict[str, Any], secret: str, event_id: str,
            shop_id: str = SHOP_ID, timestamp: int | None = None) -> tuple[bytes, dict]:
    """A webhook as Shopware's WebhookDispatcher sends it (slashes escaped, compact JSON)."""
    envelope = {"data": {"payload": {"order": data}, "event": event},
                "source": {"url": SHOP_URL, "eventId": event_id, "shopId": shop_id,
                           "appVersion": "0.1.0"},
                "timestamp": timestamp or int(time.time())}
    body = json.dumps(envelope, separators=(",", ":")).replace("/", "\\/").encode()
    return body, {"Content-Type": "application/json", "sw-version": "6.6.9.0",
                  "shopware-shop-signature": hex_hmac(secret, body)}


def with_updated(data: dict[str, Any], updated: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["updatedAt"] = updated
    return data
