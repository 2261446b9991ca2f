"""The app's async payment method "Purchase on account with Billie (B2B)"
(plugins/shopware/widget.py): Shopware posts the order to the widget's pay URL, the kit
answers its checkout page (``/checkout/<token>``) where the buyer confirms in Billie's widget,
the page confirms the session, Shopware asks the finalize URL, and the order's placement
adopts the order Billie created (``responses`` stands in for Billie, the Shopware stand-in
for the shop)."""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
import responses
from responses.registries import OrderedRegistry
from sqlalchemy import select
from test_billie import BASE, ORDER_UUID, SETTINGS, as_json, billie_order
from test_shopware_admin_api import CHAIRS, PAPER, PUBLIC, SHOP, install, kit, manifest  # noqa: F401
from test_shopware_payment import CountingRegister, deliver, kit_order, sender

from core.ledger.db import session_scope
from core.ledger.models import Order, ProviderCheckout
from core.ledger.store import Ledger
from core.state import Status
from plugins.billie import client as billie_client
from plugins.billie import wire
from plugins.shopware import payment, widget
from plugins.shopware.signature import hex_hmac
from shopware_standin import StandIn, priced_order, running
from shopware_standin.server import php_json

SESSION = "0a6e7c1e-5b1a-4c2e-9d44-1f1e2d3c4b5a"
SCRIPT = "https://static-paella-sandbox.billie.io/checkout/billie-checkout.js"
NUMBER = "10087"


@pytest.fixture
def shop(kit):  # noqa: F811
    the_kit, client = kit
    the_kit.hooks.pm.register(CountingRegister())
    billie_client.clear_token_cache()
    with running(StandIn()) as standin:
        install(standin, client)
        yield the_kit, client, standin
    billie_client.clear_token_cache()


@pytest.fixture
def on_billie(shop):
    the_kit = shop[0]
    with session_scope(the_kit.engine) as session:
        Ledger(session).configure_merchant(3333, provider="billie", provider_settings=SETTINGS)
    return shop


def new_order(standin: StandIn) -> dict:
    order = standin.add_order(priced_order([CHAIRS, PAPER], number=NUMBER))
    standin.pay_with_app(order["id"], payment.WIDGET)
    return order


def total(order) -> str:
    return f"{Decimal(str(order['amountTotal'])):.2f}"


def answer_of(order) -> dict:
    """What Billie's widget resolves with: the data it was given, as JSON numbers."""
    gross, net = Decimal(total(order)), Decimal(str(order["amountNet"]))
    return {"amount": {"gross": gross, "net": net, "tax": gross - net}, "duration": 30,
            "debtor_company": {"name": "Muster Bürobedarf GmbH", "established_customer": False,
                               "address_street": "Hauptstraße", "address_house_number": "5",
                               "address_postal_code": "10115", "address_city": "Berlin",
                               "address_country": "DE"}}


def opened_at_billie(api, session=SESSION):
    api.post(BASE + "oauth/token", json={"expires_in": 28800, "access_token": "eyJ.one"})
    api.post(BASE + "checkout-sessions", json={"id": session})


def pay(client, standin, order_id):
    """Shopware's pay request for the order; the kit's status, answer and whether the answer
    is signed with the shop secret."""
    status, raw, headers = sender(client)(*standin.pay_request(order_id))
    signed = headers.get("shopware-app-signature") == hex_hmac(standin.shop_secret, raw)
    return status, json.loads(raw) if raw else None, signed


def finalize_request(standin: StandIn, order_id: str, secret: str | None = None):
    """Shopware's finalize request (6.6.5+ AppPaymentHandler ``finalize``, PaymentPayload:
    the transaction, the order, the return's query as ``requestData``), signed."""
    order = standin.orders[order_id]
    transaction = order["transactions"][-1]
    url = transaction["paymentMethod"]["appPaymentMethod"]["finalizeUrl"]
    body = php_json({"source": {"url": standin.shop_url, "shopId": standin.shop_id,
                                "appVersion": "0.1.0"},
                     "orderTransaction": transaction, "queryParameters": [], "order": order,
                     "requestData": [], "returnUrl": None, "validateStruct": None,
                     "recurring": None}).encode()
    return url, body, {"Content-Type": "application/json", "sw-version": standin.version,
                       "sw-user-language": standin.language, "shopware-shop-signature":
                           hex_hmac(secret or standin.shop_secret, body)}


def finalize(client, standin, order_id):
    """Shopware's finalize and how it applies the answer (AppPaymentHandler
    ``transitionState``: ``cancel`` cancels, a message fails, else the transition)."""
    status, raw, headers = sender(client)(*finalize_request(standin, order_id))
    answer = json.loads(raw)
    assert headers.get("shopware-app-signature") == hex_hmac(standin.shop_secret, raw)
    if answer.get("status") == "cancel":
        standin._transition(order_id, "cancel")
    else:
        standin.answered(order_id, status, raw, headers)
    return answer, standin._transaction_state(order_id)


def token_of(answer) -> str:
    match = re.fullmatch(rf"{PUBLIC}/checkout/([A-Za-z0-9_-]+)", answer["redirectUrl"])
    assert match, answer
    return match.group(1)


def page_data(response) -> dict:
    match = re.search(r"data-checkout='([^']*)'", response.get_data(as_text=True))
    assert match
    return json.loads(match.group(1).replace("&#39;", "'").replace("&amp;", "&"))


def kept(the_kit) -> list[tuple]:
    with session_scope(the_kit.engine) as session:
        return [(c.session_id, c.state, c.order_number, c.shop_reference, c.token_hash)
                for c in session.scalars(select(ProviderCheckout))]


def confirm(client, api, token, order):
    """Billie confirms the widget's answer for ``order``; the checkout page posts it."""
    api.put(BASE + f"checkout-sessions/{SESSION}/confirm", status=202, body=as_json(
        billie_order(gross=total(order), net=str(order["amountNet"]))),
        content_type="application/json")
    return client.post(f"/checkout/{token}/confirm", data=wire.dumps(answer_of(order)),
                       content_type="application/json")


def opened(client, standin, order, session=SESSION):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        opened_at_billie(api, session)  # Billie's token may be cached from before
        status, answer, signed = pay(client, standin, order["id"])
        assert api.calls[-1].request.url == BASE + "checkout-sessions"
    assert (status, signed) == (200, True), answer
    return token_of(answer)


# -- the manifest --------------------------------------------------------------------------


def test_the_manifest_offers_the_widget_method_with_pay_and_finalize_urls():
    root = ET.fromstring(manifest())
    method = next(m for m in root.iter("payment-method")
                  if m.findtext("identifier") == payment.WIDGET)
    assert method.findtext("pay-url") == f"{PUBLIC}/apps/shopware/widget-pay"
    assert method.findtext("finalize-url") == f"{PUBLIC}/apps/shopware/widget-finalize"
    assert {n.get("lang", "en-GB"): n.text for n in method.iter("name")} == {
        "en-GB": "Purchase on account with Billie (B2B)",
        "de-DE": "Kauf auf Rechnung mit Billie (B2B)"}
    events = {w.get("event") for w in root.iter("webhook")}
    assert "state_enter.order_transaction.state.authorized" in events


# -- pay -------------------------------------------------------------------------------------


def test_pay_opens_a_session_and_answers_the_kits_page_signed(on_billie):
    the_kit, client, standin = on_billie
    order = new_order(standin)
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        opened_at_billie(api)
        status, answer, signed = pay(client, standin, order["id"])
        assert api.calls[1].request.url == BASE + "checkout-sessions"
    assert (status, signed) == (200, True)
    assert set(answer) == {"redirectUrl"}
    token = token_of(answer)
    transaction = order["transactions"][-1]["id"]
    assert kept(the_kit) == [(SESSION, "open", NUMBER, transaction,
                              hashlib.sha256(token.encode()).hexdigest())]


def test_a_declined_buyer_fails_at_pay_with_the_message_and_billie_is_not_asked(on_billie):
    the_kit, client, standin = on_billie
    order = new_order(standin)
    order["orderCustomer"]["company"] = None
    order["addresses"][0]["company"] = None
    with responses.RequestsMock(registry=OrderedRegistry):
        status, answer, signed = pay(client, standin, order["id"])
    assert (status, signed, answer["status"]) == (200, True, "fail")
    assert answer["message"].startswith("Purchase on account is available to businesses")
    assert kept(the_kit) == []


def test_billie_unreachable_at_pay_fails_with_a_sentence(on_billie):
    _, client, standin = on_billie
    order = new_order(standin)
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        api.post(BASE + "oauth/token", json={"expires_in": 28800, "access_token": "eyJ.one"})
        api.post(BASE + "checkout-sessions", status=500)
        status, answer, signed = pay(client, standin, order["id"])
    assert (status, signed) == (200, True)
    assert answer == {"status": "fail", "message": widget.text("unavailable", "en-GB")}


def test_a_bad_signature_is_refused_at_pay_and_finalize(on_billie):
    _, client, standin = on_billie
    order = new_order(standin)
    url, body, headers = standin.pay_request(order["id"])
    headers["shopware-shop-signature"] = "0" * 64
    assert client.post(url.removeprefix(PUBLIC), data=body, headers=headers).status_code == 401
    url, body, headers = finalize_request(standin, order["id"], secret="wrong")
    assert client.post(url.removeprefix(PUBLIC), data=body, headers=headers).status_code == 401


@pytest.mark.parametrize(("version", "expected"), [
    ("6.6.9.0", {"status": "authorize"}),  # AppPaymentHandler: no redirect, no finalize
    ("6.5.8.14", {"status": "fail", "message": widget.text("only_billie", "en-GB")}),
])
def test_without_a_widget_the_local_provider_answers_by_shopware_version(shop, version,
                                                                         expected):
    the_kit, client, standin = shop
    standin.version = version
    order = new_order(standin)
    status, answer, signed = pay(client, standin, order["id"])
    assert (status, signed, answer) == (200, True, expected)
    assert kept(the_kit) == []


# -- the page ------------------------------------------------------------------------------


def test_the_page_mounts_billies_widget_under_its_own_policy(on_billie):
    _, client, standin = on_billie
    order = new_order(standin)
    token = opened(client, standin, order)
    response = client.get(f"/checkout/{token}")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    origin = "https://static-paella-sandbox.billie.io"
    assert f"script-src 'self' {origin}" in policy and f"frame-src {origin}" in policy
    assert f"connect-src 'self' {origin}" in policy
    assert "frame-ancestors 'none'" in policy
    # inline styles only (widgets style what they add); never inline or foreign scripts
    assert f"style-src 'self' 'unsafe-inline' {origin}" in policy
    assert policy.count("unsafe-inline") == 1 and "unsafe-eval" not in policy
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<script src=\"/checkout/static/checkout.js\"></script>" in html
    assert "<script>" not in html and "style=" not in html
    data = page_data(response)
    assert data["script_url"] == SCRIPT
    assert data["config"] == {"session_id": SESSION, "merchant_name": SHOP}
    assert data["order_data"]["amount"]["gross"] == total(order)  # JS makes it a number
    assert data["return_url"].startswith(f"{standin.shop_url}/payment/finalize-transaction?")
    assert data["confirm_url"] == f"/checkout/{token}/confirm"
    script = client.get("/checkout/static/checkout.js")
    assert script.status_code == 200 and b"BillieCheckoutWidget" in script.data
    script.close()


def test_an_unknown_token_is_a_404_page_echoing_nothing(on_billie):
    _, client, _ = on_billie
    response = client.get("/checkout/not-a-token-xyz")
    assert response.status_code == 404
    assert "not-a-token-xyz" not in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert client.post("/checkout/not-a-token-xyz/confirm", json={}).status_code == 404


# -- confirm and finalize ------------------------------------------------------------------


def test_confirm_sends_the_widgets_answer_to_billie_and_finalize_authorizes(on_billie):
    _, client, standin = on_billie
    order = new_order(standin)
    token = opened(client, standin, order)
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        answer = confirm(client, api, token, order)
        sent = wire.loads(api.calls[0].request.body)
    assert answer.status_code == 200, answer.json
    assert answer.json["decision"] == "approved"
    assert answer.json["redirect"].startswith(f"{standin.shop_url}/payment/finalize")
    assert sent["external_code"] == f"{SHOP}-{NUMBER}"
    assert sent["amount"]["gross"] == Decimal(total(order))
    assert finalize(client, standin, order["id"]) == ({"status": "authorize"}, "authorized")


def test_finalize_before_a_confirmation_cancels_and_after_a_decline_fails(on_billie):
    _, client, standin = on_billie
    order = new_order(standin)
    opened(client, standin, order)
    answer, state = finalize(client, standin, order["id"])
    assert answer == {"status": "cancel", "message": widget.text("not_confirmed", "en-GB")}
    assert state == "cancelled"

    second = new_order(standin)
    standin.orders[second["id"]]["orderNumber"] = "10088"
    token = opened(client, standin, second, session="second-session")
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        api.put(BASE + "checkout-sessions/second-session/confirm", status=202, body=as_json(
            billie_order("declined", gross=total(second), net=str(second["amountNet"]),
                         decline_reason="debtor_not_qualified")),
            content_type="application/json")
        declined = client.post(f"/checkout/{token}/confirm",
                               data=wire.dumps(answer_of(second)),
                               content_type="application/json")
    assert declined.json["decision"] == "declined"
    answer, state = finalize(client, standin, second["id"])
    assert answer == {"status": "fail", "message": payment.message(["debtor_not_qualified"])}
    assert state == "failed"


def test_the_full_path_places_the_order_by_adopting_billies(on_billie):
    """Shopware sends checkout.order.placed before the buyer confirmed: it waits; the
    authorized transaction's event places the order, adopting Billie's (no POST orders)."""
    the_kit, client, standin = on_billie
    order = new_order(standin)
    placed = standin.webhook("checkout.order.placed", order["id"])
    token = opened(client, standin, order)
    assert deliver(client, placed) == 200  # ignored: the buyer has not confirmed yet
    with session_scope(the_kit.engine) as session:
        assert session.scalars(select(Order)).first() is None  # not placed yet
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        assert confirm(client, api, token, order).status_code == 200
        assert finalize(client, standin, order["id"])[1] == "authorized"
        api.get(BASE + f"orders/{ORDER_UUID}", body=as_json(billie_order(
            gross=total(order), net=str(order["amountNet"]))), content_type="application/json")
        authorized = standin.webhook("state_enter.order_transaction.state.authorized",
                                     order["id"])
        assert deliver(client, authorized) == 202
        methods = [(c.request.method, c.request.url) for c in api.calls]
    assert ("POST", BASE + "orders") not in methods  # no second order at Billie
    assert ("GET", BASE + f"orders/{ORDER_UUID}") in methods
    status = kit_order(the_kit, order["id"])[0]
    assert status is Status.AUTHORISED
    with session_scope(the_kit.engine) as session:
        assert session.scalars(select(Order)).one().provider_reference == ORDER_UUID
    # the page is used up: a reload goes back to the shop (checkout.js, state not open)
    assert page_data(client.get(f"/checkout/{token}"))["state"] == "approved"


def test_a_polled_order_whose_authorized_webhook_was_lost_is_placed_by_adopting(on_billie):
    """The poll sends a confirmed order as ``checkout.order.placed`` (its current state
    event): once the widget's payment is authorized, that places it too."""
    the_kit, client, standin = on_billie
    order = new_order(standin)
    token = opened(client, standin, order)
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        confirm(client, api, token, order)
        assert finalize(client, standin, order["id"])[1] == "authorized"
        api.get(BASE + f"orders/{ORDER_UUID}", body=as_json(billie_order(
            gross=total(order), net=str(order["amountNet"]))), content_type="application/json")
        again = standin.webhook("checkout.order.placed", order["id"])
        assert deliver(client, again) == 202
        methods = [(c.request.method, c.request.url) for c in api.calls]
    assert ("POST", BASE + "orders") not in methods
    with session_scope(the_kit.engine) as session:
        assert session.scalars(select(Order)).one().provider_reference == ORDER_UUID
