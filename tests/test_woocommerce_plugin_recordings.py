"""What a real WordPress 6.9.1 + WooCommerce 10.5.2 with the plugin "invoicekit for
WooCommerce" sent to invoicekit, replayed: the plugin's connect call and eligibility
questions, and WooCommerce's webhooks of the orders paid with the plugin (block and classic
checkout). Recorded by ``plugins/woocommerce/wordpress/e2e/run.py`` and kept by its
``recordings.py`` with the secrets replaced (docs/woocommerce.md, "Tried on a real
WooCommerce")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import responses
from sqlalchemy import select

from core.connect import issue_code
from core.ledger.db import session_scope
from core.ledger.models import Order
from core.ledger.store import Ledger
from core.money import to_minor
from core.risk.apikeys import create_key
from plugins.woocommerce.plugin import parse_delivery
from woo import headers as signed

RECORDINGS = Path(__file__).parent / "fixtures" / "woocommerce" / "plugin"
ELIGIBILITY = sorted(p.stem for p in RECORDINGS.glob("eligibility-*.json"))
WEBHOOKS = sorted(p.stem for p in RECORDINGS.glob("webhook-*.json"))
SETTINGS = {"payment_methods": ["invoicekit"]}  # as the plugin's connect sets them
REAL_SHOP = re.compile(r"https://127\.0\.0\.1:8443/.*")


def recording(name: str) -> dict:
    return json.loads((RECORDINGS / f"{name}.json").read_text())


def test_there_are_recordings():
    assert len(ELIGIBILITY) >= 2 and len(WEBHOOKS) >= 6


@pytest.fixture
def connected(client, kit, woo_shop):
    """The shop connected with the plugin's recorded connect call: its answer."""
    with session_scope(kit.engine) as session:
        code = issue_code(Ledger(session), 3333, shop="real-shop")[1]
    call = recording("connect")
    body = {**json.loads(call["body"]), "code": code}
    answer = client.post(call["path"], json=body, headers=call["headers"])
    assert answer.status_code == call["status"] == 201, answer.json
    assert set(answer.json) == set(call["answer"])
    return answer.json


def test_the_plugins_connect_call_connects(connected, kit):
    assert connected["shop"] == "real-shop"
    with session_scope(kit.engine, write=False) as session:
        connection = Ledger(session).connection("real-shop")
        assert connection.platform_settings["payment_methods"] == ["invoicekit"]
        assert connection.platform_settings["rest_url"] == "https://127.0.0.1:8443"


@pytest.mark.parametrize("name", ELIGIBILITY)
def test_the_plugins_questions_get_the_recorded_decision(client, kit, woo_shop, name):
    with session_scope(kit.engine) as session:
        key = create_key(Ledger(session), 3333, "woocommerce:real-shop")[1]
    call = recording(name)
    answer = client.post(call["path"], data=call["body"],
                         headers={**call["headers"], "Authorization": f"Bearer {key}"})
    assert answer.status_code == call["status"] == 200
    for field in ("decision", "reasons", "amount", "currency"):
        assert answer.json[field] == call["answer"][field], field


@pytest.mark.parametrize("name", WEBHOOKS)
def test_the_webhooks_of_the_plugins_orders_are_read(name):
    call = recording(name)
    order = json.loads(call["body"])
    parsed = parse_delivery("woocommerce", "real-shop", call["body"].encode(), call["headers"],
                            SETTINGS)
    if order["status"] in ("pending", "checkout-draft"):  # a declined or unfinished checkout
        assert parsed.ignored and "not placed" in parsed.ignored
        return
    assert parsed.ignored is None
    (snapshot,) = parsed.snapshots
    assert snapshot.buyer.vat_id == "DE136695976"
    assert snapshot.buyer.legal_form in {"GmbH", "UG (haftungsbeschränkt)"}
    assert snapshot.buyer.company == order["billing"]["company"]
    assert sum(line.net + line.tax for line in snapshot.lines) == \
        to_minor(order["total"], order["currency"])  # the parts add up to the cent


def test_the_block_orders_webhooks_place_and_activate_it(client, kit, connected):
    """The block checkout's order, as its webhooks came: created, then completed."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as shop:
        for method in (responses.GET, responses.PUT, responses.POST):
            shop.add(method, REAL_SHOP, json={"id": 17})
        for name in ("webhook-17-order-created-processing", "webhook-17-order-updated-completed"):
            call = recording(name)
            raw = call["body"].encode()
            topic = call["headers"]["X-WC-Webhook-Topic"]
            answer = client.post(f"/webhooks/woocommerce/{connected['shop']}", data=raw,
                                 headers=signed(raw, connected["webhook_secret"], topic))
            assert answer.status_code == 202, answer.json
    with session_scope(kit.engine, write=False) as session:
        order = session.scalars(select(Order).where(Order.shop_order_id == "17")).one()
        assert order.activated == to_minor(json.loads(call["body"])["total"], "EUR") == 59964


def test_an_error_sent_instead_of_the_order_is_refused_saying_so(client, connected):
    """WooCommerce 10.5.2 sent its REST error when a webhook was delivered synchronously
    inside a Store API request (the run's first version forced synchronous delivery)."""
    call = recording("rest-no-route")
    raw = call["body"].encode()
    answer = client.post(f"/webhooks/woocommerce/{connected['shop']}", data=raw,
                         headers=signed(raw, connected["webhook_secret"], "order.updated"))
    assert answer.status_code == 422
    assert "WooCommerce sent an error instead of the order: rest_no_route" in \
        answer.json["fields"]["body"][0]
