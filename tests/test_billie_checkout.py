"""Billie's checkout widget: the shop opens a checkout session, the buyer confirms in Billie's
widget, the shop confirms the session for its order, and the order's placement adopts the
order Billie created instead of creating another (``responses`` stands in for Billie; the
bodies follow Billie's SDK models and docs.billie.io, cited in docs/billie.md)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import responses
from responses.registries import OrderedRegistry
from sqlalchemy import select
from test_billie import BASE, ORDER_UUID, SETTINGS, as_json, billie_order

from conftest import MERCHANT_ID, WOO_SECRET
from core.ledger.db import session_scope
from core.ledger.models import OperationRecord, Order, ProviderCheckout
from core.ledger.store import Ledger
from core.risk.apikeys import create_key
from plugins.billie import client as billie_client
from plugins.billie import wire
from woo import body, headers, order

SESSION = "0a6e7c1e-5b1a-4c2e-9d44-1f1e2d3c4b5a"
OPEN = "/api/v1/checkout-sessions"
CONFIRM = f"/api/v1/checkout-sessions/{SESSION}/confirm"
CART = {
    "shop": "acme", "customer_id": "42", "amount": "549.73", "tax": "82.73",
    "currency": "EUR",
    "buyer": {"company": "Muster Bürobedarf GmbH", "street": "Hauptstraße 5a",
              "postcode": "10115", "city": "Berlin", "country": "DE"},
    "person": {"first_name": "Erika", "last_name": "Muster", "email": "erika@muster.de"},
    "lines": [{"sku": "CH-1", "title": "Chair", "quantity": 2, "amount": "238.00",
               "tax": "38.00"}],
}
# what Billie's widget resolves with after the buyer confirmed (the data it was given, with
# the company as the buyer confirmed it)
ANSWER = {
    "amount": {"gross": Decimal("549.73"), "net": Decimal("467.00"), "tax": Decimal("82.73")},
    "duration": 30,
    "debtor_company": {"name": "Muster Bürobedarf GmbH", "established_customer": False,
                       "address_street": "Hauptstraße", "address_house_number": "5a",
                       "address_postal_code": "10115", "address_city": "Berlin",
                       "address_country": "DE"},
    "delivery_address": {"street": "Hauptstraße", "house_number": "5a",
                         "postal_code": "10115", "city": "Berlin", "country": "DE"},
    "debtor_person": {"first_name": "Erika", "last_name": "Muster",
                      "email": "erika@muster.de"},
}
CONFIRMATION = {"shop": "acme", "order_number": "4711", "amount": "549.73", "tax": "82.73",
                "currency": "EUR", "answer": ANSWER}
BILLIE_CONFIRM = BASE + f"checkout-sessions/{SESSION}/confirm"


@pytest.fixture(autouse=True)
def fresh_tokens():
    billie_client.clear_token_cache()
    yield
    billie_client.clear_token_cache()


@pytest.fixture
def api_key(kit, woo_shop) -> str:
    with session_scope(kit.engine) as session:
        return create_key(Ledger(session), MERCHANT_ID, "checkout")[1]


@pytest.fixture
def on_billie(kit, woo_shop):
    kit.hooks.pm.unregister(name="core.writeback.plugin")  # only Billie answers here
    with session_scope(kit.engine) as session:
        Ledger(session).configure_merchant(MERCHANT_ID, provider="billie",
                                           provider_settings=SETTINGS)


def call(client, key, path, payload):
    return client.post(path, json=payload, headers={"Authorization": f"Bearer {key}"})


def confirm(client, key, payload=CONFIRMATION):
    """The answer's amounts as the browser sends them: JSON numbers (``549.73``)."""
    return client.post(CONFIRM, data=wire.dumps(payload), content_type="application/json",
                       headers={"Authorization": f"Bearer {key}"})


def token(api):
    api.post(BASE + "oauth/token", json={"expires_in": 28800, "access_token": "eyJ.one"})


def session_opened(api):
    api.post(BASE + "checkout-sessions", json={"id": SESSION})


def confirmed_at_billie(api, **changes):
    api.put(BILLIE_CONFIRM, status=202, body=as_json(billie_order(
        gross="549.73", net="467.00", external_code="acme-4711", **changes)),
        content_type="application/json")


def checkouts(kit):
    with session_scope(kit.engine) as session:
        return [(c.session_id, c.state, c.order_number, c.provider_reference, c.amount)
                for c in session.scalars(select(ProviderCheckout))]


def open_and_confirm(client, api_key, api):
    token(api)
    session_opened(api)
    confirmed_at_billie(api)
    assert call(client, api_key, OPEN, CART).status_code == 200
    answer = confirm(client, api_key)
    assert answer.status_code == 200, answer.json
    return answer


# -- opening -------------------------------------------------------------------------------


def test_without_a_widget_the_shop_places_the_order_as_usual(kit, client, api_key):
    answer = call(client, api_key, OPEN, CART)
    assert answer.status_code == 200
    assert answer.json == {"provider": "local", "session_id": None, "widget": None}
    assert checkouts(kit) == []


def test_billie_opens_a_session_and_the_shop_gets_the_widget(kit, client, api_key, on_billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        session_opened(api)
        answer = call(client, api_key, OPEN, CART)
        assert wire.loads(api.calls[1].request.body) == {"merchant_customer_id": "42"}
    assert answer.status_code == 200, answer.json
    widget = answer.json["widget"]
    assert answer.json["session_id"] == SESSION and answer.json["expires_at"]
    assert widget["kind"] == "billie"
    assert widget["script_url"] == "https://static-paella-sandbox.billie.io/checkout/billie-checkout.js"
    assert widget["config"] == {"session_id": SESSION, "merchant_name": "acme"}
    data = widget["order_data"]
    assert data["amount"] == {"gross": "549.73", "net": "467.00", "tax": "82.73"}
    assert data["duration"] == 30
    assert data["debtor_company"] == {
        "name": "Muster Bürobedarf GmbH", "established_customer": False,
        "address_street": "Hauptstraße", "address_house_number": "5a",
        "address_postal_code": "10115", "address_city": "Berlin", "address_country": "DE"}
    assert data["delivery_address"]["house_number"] == "5a"
    assert data["debtor_person"] == {"first_name": "Erika", "last_name": "Muster",
                                     "email": "erika@muster.de"}
    assert data["line_items"] == [{"external_id": "CH-1", "title": "Chair", "quantity": 2,
                                   "amount": {"gross": "238.00", "net": "200.00",
                                              "tax": "38.00"}}]
    assert checkouts(kit) == [(SESSION, "open", None, None, None)]


def test_billie_failing_to_open_a_session_is_a_502_and_nothing_is_kept(kit, client, api_key,
                                                                       on_billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        api.post(BASE + "checkout-sessions", status=500)
        answer = call(client, api_key, OPEN, CART)
    assert answer.status_code == 502
    assert answer.json["error"].startswith("billie could not be asked")
    assert checkouts(kit) == []


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "0.00"}, "amount"), ({"amount": 549.73}, "amount"),
    ({"currency": "EURO"}, "currency"), ({"customer_id": ""}, "customer_id"),
    ({"buyer": {"company": "X GmbH"}}, "buyer.street"),
    ({"lines": [{"title": "Chair", "quantity": 0, "amount": "1.00"}]}, "lines.0.quantity"),
    ({"surprise": 1}, "surprise"),
])
def test_a_bad_cart_is_a_422_naming_the_field(kit, client, api_key, on_billie, change, field):
    answer = call(client, api_key, OPEN, {**CART, **change})
    assert answer.status_code == 422
    assert field in answer.json["fields"]
    assert checkouts(kit) == []


def test_another_merchants_shop_or_no_key_is_refused(kit, client, api_key, on_billie):
    assert call(client, api_key, OPEN, {**CART, "shop": "elsewhere"}).status_code == 404
    assert client.post(OPEN, json=CART).status_code == 401
    assert call(client, api_key, CONFIRM, {**CONFIRMATION, "shop": "nope"}).status_code == 404


# -- confirming ------------------------------------------------------------------------------


def test_the_confirmation_sends_what_the_widget_answered(kit, client, api_key, on_billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        answer = open_and_confirm(client, api_key, api)
        sent = wire.loads(api.calls[2].request.body)
        assert api.calls[2].request.method == "PUT"
    assert answer.json == {"decision": "approved", "provider": "billie",
                           "provider_reference": ORDER_UUID}
    assert sent == {
        "amount": {"gross": Decimal("549.73"), "net": Decimal("467.00"),
                   "tax": Decimal("82.73")},
        "duration": 30,
        "debtor": {"name": "Muster Bürobedarf GmbH", "company_address": {
            "street": "Hauptstraße", "house_number": "5a", "postal_code": "10115",
            "city": "Berlin", "country": "DE"}},
        "external_code": "acme-4711",
        "delivery_address": ANSWER["delivery_address"],
    }
    assert checkouts(kit) == [(SESSION, "approved", "4711", ORDER_UUID, 54973)]


def test_asking_again_repeats_the_answer_without_calling_billie(kit, client, api_key,
                                                                on_billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        first = open_and_confirm(client, api_key, api)
        again = confirm(client, api_key)
        assert len(api.calls) == 3
        other = confirm(client, api_key, {**CONFIRMATION, "order_number": "4712"})
    assert again.json == first.json
    assert other.status_code == 409 and "4711" in other.json["error"]


def test_an_amount_other_than_the_buyer_confirmed_is_a_422(kit, client, api_key, on_billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        session_opened(api)
        call(client, api_key, OPEN, CART)
        answer = confirm(client, api_key, {**CONFIRMATION, "amount": "560.00"})
        assert len(api.calls) == 2  # Billie is not asked
    assert answer.status_code == 422
    assert answer.json["fields"]["amount"] == [
        "differs from what the buyer confirmed in Billie's widget (549.73)"]
    assert checkouts(kit) == [(SESSION, "open", None, None, None)]


def test_an_unknown_session_is_a_404(kit, client, api_key, on_billie):
    assert confirm(client, api_key).status_code == 404


def test_billie_failing_to_confirm_keeps_the_session_open_for_another_try(kit, client,
                                                                         api_key, on_billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        session_opened(api)
        call(client, api_key, OPEN, CART)
        api.put(BILLIE_CONFIRM, status=503)
        failed = confirm(client, api_key)
        confirmed_at_billie(api)
        again = confirm(client, api_key)
    assert failed.status_code == 502
    assert again.status_code == 200 and again.json["decision"] == "approved"


# -- the placement adopts the confirmed order ------------------------------------------------


def deliver(client, status, order_id=4711, **changes):
    raw = body({**order(order_id, status=status, modified="2026-11-03T14:00:00"
                        if status == "completed" else "2026-11-02T09:15:00"), **changes})
    topic = "order.updated" if status == "completed" else "order.created"
    return client.post("/webhooks/woocommerce/acme", data=raw,
                       headers=headers(raw, WOO_SECRET, topic))


def placement(kit):
    with session_scope(kit.engine) as session:
        record = session.scalars(select(OperationRecord).where(
            OperationRecord.kind == "placement")).one()
        found = session.scalars(select(Order)).one()
        return record.status, found.provider_reference, found.status


def test_the_placement_adopts_the_confirmed_order(kit, client, api_key, on_billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        open_and_confirm(client, api_key, api)
        api.get(BASE + f"orders/{ORDER_UUID}", body=as_json(billie_order(
            gross="549.73", net="467.00")), content_type="application/json")
        assert deliver(client, "processing").status_code == 202
        methods = [(c.request.method, c.request.url) for c in api.calls]
    assert ("POST", BASE + "orders") not in methods  # no second order at Billie
    assert methods[-1] == ("GET", BASE + f"orders/{ORDER_UUID}")
    assert placement(kit) == ("succeeded", ORDER_UUID, "authorised")


def test_an_order_changed_after_the_confirmation_is_declined_saying_so(kit, client, api_key,
                                                                       on_billie):
    """The buyer confirmed 500.00 in the widget; the order arrives with 549.73."""
    smaller = {"gross": Decimal("500.00"), "net": Decimal("420.17"), "tax": Decimal("79.83")}
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        session_opened(api)
        call(client, api_key, OPEN, {**CART, "amount": "500.00", "tax": "79.83"})
        api.put(BILLIE_CONFIRM, status=202, body=as_json(billie_order(
            gross="500.00", net="420.17")), content_type="application/json")
        assert confirm(client, api_key, {**CONFIRMATION, "amount": "500.00", "tax": "79.83",
                                         "answer": {**ANSWER, "amount": smaller}}
                       ).json["decision"] == "approved"
        api.get(BASE + f"orders/{ORDER_UUID}", body=as_json(billie_order(
            gross="500.00", net="420.17")), content_type="application/json")
        deliver(client, "processing")
    with session_scope(kit.engine) as session:
        found = session.scalars(select(Order)).one()
        assert (found.status, found.decline_reason) == ("declined", "checkout_amount_differs")


def test_an_order_of_another_number_is_placed_with_post_orders(kit, client, api_key,
                                                               on_billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        open_and_confirm(client, api_key, api)
        api.post(BASE + "orders", body=as_json(billie_order(gross="549.73", net="467.00")),
                 content_type="application/json")
        deliver(client, "processing", order_id=4712, number="4712")
        assert api.calls[-1].request.url == BASE + "orders"


def test_the_widget_script_follows_the_api_or_the_setting():
    from plugins.billie.checkout import PRODUCTION_WIDGET, widget_url
    from plugins.billie.settings import read_settings

    assert widget_url(read_settings({**SETTINGS, "sandbox": False})) == PRODUCTION_WIDGET
    assert widget_url(read_settings({**SETTINGS, "widget_url": "https://shop.test/w.js"})) \
        == "https://shop.test/w.js"
    with pytest.raises(Exception, match="widget_url must be an https"):
        read_settings({**SETTINGS, "widget_url": "http://shop.test/w.js"})


# -- what the real WooCommerce plugin sent (tests/fixtures/woocommerce/plugin) ---------------

RECORDED = Path(__file__).parent / "fixtures" / "woocommerce" / "plugin"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("checkout", ["block", "classic"])
def test_the_real_plugins_requests_open_and_confirm_a_session(kit, client, api_key, on_billie,
                                                              checkout):
    opened, confirmed = recorded(f"checkout-session-{checkout}.json"), \
        recorded(f"checkout-session-{checkout}-confirm.json")
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        session_opened(api)
        first = client.post(opened["path"], data=opened["body"], headers={
            **opened["headers"], "Authorization": f"Bearer {api_key}"})
        assert first.status_code == 200, first.json
        assert first.json["widget"]["order_data"]["amount"] == \
            opened["answer"]["widget"]["order_data"]["amount"]
        sent = json.loads(confirmed["body"])
        gross = sent["answer"]["amount"]["gross"]
        api.put(BILLIE_CONFIRM, status=202, body=json.dumps({
            "uuid": ORDER_UUID, "state": "created", "external_code": "acme-x",
            "amount": sent["answer"]["amount"]}), content_type="application/json")
        second = client.post(CONFIRM, data=confirmed["body"], headers={
            **confirmed["headers"], "Authorization": f"Bearer {api_key}"})
        to_billie = wire.loads(api.calls[-1].request.body)
    assert second.status_code == 200, second.json
    assert second.json["decision"] == "approved"
    assert to_billie["amount"]["gross"] == Decimal(str(gross)) == Decimal(sent["amount"])
    assert to_billie["external_code"] == f"acme-{sent['order_number']}"


def test_the_real_plugin_with_the_local_provider_gets_no_widget(kit, client, api_key):
    opened = recorded("checkout-session-local.json")
    answer = client.post(opened["path"], data=opened["body"], headers={
        **opened["headers"], "Authorization": f"Bearer {api_key}"})
    assert answer.status_code == 200 and answer.json == opened["answer"]
