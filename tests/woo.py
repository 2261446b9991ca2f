"""WooCommerce deliveries in the exact wire format: REST v3 order JSON, PHP's JSON escaping,
the X-WC-Webhook-* headers and the base64 HMAC-SHA256 signature."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from plugins.woocommerce.signature import sign

SHOP_URL = "https://shop.example-b2b.de"


def _taxes(rate_id: int, total: str) -> list[dict[str, Any]]:
    return [{"id": rate_id, "total": total, "subtotal": total}]


def order(order_id: int = 4711, *, status: str = "processing",
          modified: str = "2026-11-02T09:15:00", payment_method: str = "invoice") -> dict:
    """An invoice order: 2 chairs (with coupon), 10 reams of paper at 7 %, 3 lamps, shipping
    and a handling fee; total 549.73 EUR."""
    return {
        "id": order_id, "parent_id": 0, "status": status, "currency": "EUR",
        "version": "10.5.2", "prices_include_tax": False,
        "date_created": "2026-11-02T10:14:00", "date_modified": modified.replace("09:", "10:"),
        "discount_total": "10.00", "discount_tax": "1.90", "shipping_total": "10.00",
        "shipping_tax": "1.90", "cart_tax": "80.45", "total": "549.73", "total_tax": "82.73",
        "customer_id": 17, "order_key": "wc_order_Zb8lQ2", "number": str(order_id),
        "billing": {"first_name": "Erika", "last_name": "Muster",
                    "company": "Muster B\u00fcrobedarf GmbH", "address_1": "Hauptstra\u00dfe 5",
                    "address_2": "", "city": "Berlin", "state": "BE", "postcode": "10115",
                    "country": "DE", "email": "einkauf@muster.example", "phone": "030 123"},
        "shipping": {"first_name": "Erika", "last_name": "Muster", "company": "", "address_1":
                     "Hauptstra\u00dfe 5", "address_2": "", "city": "Berlin", "state": "BE",
                     "postcode": "10115", "country": "DE", "phone": ""},
        "payment_method": payment_method, "payment_method_title": "Kauf auf Rechnung",
        "transaction_id": "", "customer_ip_address": "203.0.113.5",
        "customer_user_agent": "Mozilla/5.0", "created_via": "checkout", "customer_note": "",
        "date_completed": None, "date_paid": None, "cart_hash": "9a3c",
        "meta_data": [{"id": 901, "key": "_billing_vat_id", "value": "DE136695976"},
                      {"id": 902, "key": "is_vat_exempt", "value": "no"}],
        "line_items": [
            {"id": 101, "name": "Office chair", "product_id": 55, "variation_id": 0,
             "quantity": 2, "tax_class": "", "subtotal": "310.00", "subtotal_tax": "58.90",
             "total": "300.00", "total_tax": "57.00", "taxes": _taxes(1, "57"),
             "meta_data": [], "sku": "CH-2", "price": 150, "image": {"id": 0, "src": ""},
             "parent_name": None},
            {"id": 102, "name": "Printer paper A4", "product_id": 56, "variation_id": 0,
             "quantity": 10, "tax_class": "reduced-rate", "subtotal": "50.00",
             "subtotal_tax": "3.50", "total": "50.00", "total_tax": "3.50",
             "taxes": _taxes(2, "3.5"), "meta_data": [], "sku": "PA-4", "price": 5,
             "image": {"id": 0, "src": ""}, "parent_name": None},
            {"id": 103, "name": "Desk lamp", "product_id": 57, "variation_id": 0,
             "quantity": 3, "tax_class": "", "subtotal": "105.00", "subtotal_tax": "19.95",
             "total": "105.00", "total_tax": "19.95", "taxes": _taxes(1, "19.95"),
             "meta_data": [], "sku": "LA-3", "price": 35, "image": {"id": 0, "src": ""},
             "parent_name": None},
        ],
        "tax_lines": [
            {"id": 801, "rate_code": "DE-MWST-1", "rate_id": 1, "label": "MwSt.",
             "compound": False, "tax_total": "78.53", "shipping_tax_total": "1.90",
             "rate_percent": 19, "meta_data": []},
            {"id": 802, "rate_code": "DE-MWST-ERM-2", "rate_id": 2, "label": "MwSt. erm.",
             "compound": False, "tax_total": "3.50", "shipping_tax_total": "0.00",
             "rate_percent": 7, "meta_data": []},
        ],
        "shipping_lines": [{"id": 201, "method_title": "DHL Paket", "method_id": "flat_rate",
                            "instance_id": "1", "total": "10.00", "total_tax": "1.90",
                            "taxes": _taxes(1, "1.9"), "meta_data": []}],
        "fee_lines": [{"id": 301, "name": "Handling", "tax_class": "", "tax_status": "taxable",
                       "amount": "2", "total": "2.00", "total_tax": "0.38",
                       "taxes": _taxes(1, "0.38"), "meta_data": []}],
        "coupon_lines": [{"id": 401, "code": "welcome10", "discount": "10",
                          "discount_tax": "1.9", "meta_data": [], "discount_type": "fixed_cart",
                          "nominal_amount": 10, "free_shipping": False}],
        "refunds": [],
        "payment_url": f"{SHOP_URL}/checkout/order-pay/{order_id}/",
        "is_editable": False, "needs_payment": False, "needs_processing": True,
        "date_created_gmt": "2026-11-02T09:14:00", "date_modified_gmt": modified,
        "date_completed_gmt": None, "date_paid_gmt": None, "currency_symbol": "\u20ac",
        "_links": {"self": [{"href": f"{SHOP_URL}/wp-json/wc/v3/orders/{order_id}"}],
                   "collection": [{"href": f"{SHOP_URL}/wp-json/wc/v3/orders"}]},
    }


def with_refund(data: dict, refund_id: int, amount: str, modified: str,
                reason: str = "") -> dict:
    """The order after a refund: ``refunds[]`` gains it first, total and lines unchanged."""
    data = copy.deepcopy(data)
    data["refunds"].insert(0, {"id": refund_id, "reason": reason, "total": f"-{amount}"})
    data["date_modified_gmt"] = modified
    refunded = sum(-Decimal(r["total"]) for r in data["refunds"])
    if refunded >= Decimal(data["total"]):
        data["status"] = "refunded"
    return data


def body(data: dict) -> bytes:
    """JSON as PHP's json_encode writes it: ASCII with \\uXXXX, escaped slashes, no spaces."""
    return json.dumps(data, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def headers(raw: bytes, secret: str, topic: str = "order.updated", webhook_id: int = 12,
            **extra: str) -> dict[str, str]:
    resource, event = topic.split(".")
    return {
        "User-Agent": "WooCommerce/10.5.2 Hookshot (WordPress/6.9.1)",
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": f"{SHOP_URL}/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign(raw, secret),
        "X-WC-Webhook-ID": str(webhook_id),
        "X-WC-Webhook-Delivery-ID": "5f0c1a9e2b7d4c6e8a1f3b5d7c9e0a2b",
        **extra,
    }
