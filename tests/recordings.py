"""Replaying the recordings of a real WooCommerce (tests/fixtures/woocommerce/recordings, made
by bench/woocommerce_record): a merchant and a shop ``rec`` on the kit, each recorded
delivery posted to the receiver as WooCommerce sent it, and the recorded REST answers served
to the plugin."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import responses

from conftest import MERCHANT_ID, add_acme
from core import hookimpl
from core.context import CompanyCheck
from core.ledger.db import session_scope
from core.ledger.store import Ledger

RECORDINGS_DIR = Path(__file__).parent / "fixtures" / "woocommerce" / "recordings"
SHOP = "rec"
REST_URL = "https://shop.example-b2b.de"
REST = {"rest_url": REST_URL, "consumer_key": "ck_rec", "consumer_secret": "cs_rec"}
STATUS_MAP = {"completed": "activate", "cancelled": "cancel", "refunded": "cancel"}


def recording(name: str) -> dict[str, Any]:
    return json.loads((RECORDINGS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def deliveries(steps: list[dict[str, Any]]) -> list[tuple[dict, bytes]]:
    """The deliveries of ``steps`` as (headers, raw body), in arrival order."""
    return [(d["headers"], d["body"].encode("utf-8"))
            for step in steps for d in step["deliveries"]]


class AcceptRecordedVatId:
    """The recorded buyer's VAT ID (DE123456789) fails its check digit; the company check
    takes it as valid here so the orders are placed."""

    @hookimpl(wrapper=True)
    def verify_company(self, company, settings):
        checks = yield
        if company.vat_id == "DE123456789":
            return [CompanyCheck("valid", source="recording")]
        return checks


def connect(kit, secret: str, settings: dict[str, Any] | None = None):
    """Merchant 3333 with the WooCommerce shop ``rec``; the receiver's test client."""
    from webhooks import create_app

    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        add_acme(ledger)
        ledger.add_connection(name=SHOP, merchant_id=MERCHANT_ID, platform="woocommerce",
                              status_map=STATUS_MAP, secrets=[secret],
                              platform_settings={"payment_methods": ["invoice"],
                                                 **(settings or {})})
    kit.hooks.pm.register(AcceptRecordedVatId())
    return create_app({"TESTING": True}, kit=kit).test_client()


def post(client, steps: list[dict[str, Any]]) -> list[int]:
    """Post the deliveries of ``steps`` to shop ``rec``; the status codes answered."""
    return [client.post(f"/webhooks/woocommerce/{SHOP}", data=body, headers=headers).status_code
            for headers, body in deliveries(steps)]


def replay(kit, name: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Post all of a recording's deliveries; the last order JSON delivered."""
    rec = recording(name)
    client = connect(kit, rec["secret"], settings)
    assert all(code in (200, 202) for code in post(client, rec["steps"]))
    signed = [body for headers, body in deliveries(rec["steps"])
              if "X-WC-Webhook-Signature" in headers]
    return json.loads(signed[-1])


def serve_rest(api: responses.RequestsMock, rec: dict[str, Any],
               base: str = REST_URL) -> None:
    """Answer the plugin's REST reads with the recording's answers (``GET /wc/v3/…``)."""
    for key, answer in rec["rest"].items():
        match = re.fullmatch(r"GET /wc/v3/(\S+)", key)
        if match is None or "?" in key:  # described in words, or asked with parameters
            continue
        url = f"{base}/wp-json/wc/v3/{match.group(1)}"
        if isinstance(answer, dict) and set(answer) >= {"status", "body"}:
            api.get(url, status=answer["status"], json=answer["body"])
        else:
            api.get(url, json=answer)
