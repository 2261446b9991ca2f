"""The Shopware app: registration handshake, signed webhooks, Admin API reads, ledger results."""

from __future__ import annotations

import json
import time

import pytest
import responses
from sqlalchemy import select

from core.config import Settings
from core.kit import Kit
from core.ledger.db import session_scope
from core.ledger.models import Delivery, ShopConnection
from core.ledger.store import Ledger
from plugins.shopware import admin
from plugins.shopware.registration import app_secret_for
from plugins.shopware.signature import hex_hmac
from shopware import (
    APP_NAME,
    APP_SECRET,
    SHOP_ID,
    SHOP_URL,
    confirmation,
    order,
    registration,
    webhook,
    with_updated,
)
from webhooks import create_app

PUBLIC = "https://kit.example"


@pytest.fixture
def sw(tmp_path, engine):
    settings = Settings(home=tmp_path, database_url=engine.url.render_as_string(
        hide_password=False), queue_url="memory://", public_url=PUBLIC,
        platforms={"shopware": {"app_name": APP_NAME, "app_secret": APP_SECRET}})
    kit = Kit.create(settings)
    admin._tokens.clear()  # each test's shop hands out its own token
    with session_scope(kit.engine) as session:
        Ledger(session).add_merchant(id=3333, name="ACME Office GmbH", country="DE",
                                     account_holder="ACME", bank_code="10020030",
                                     account_first=4_000_000_000, account_last=4_000_009_999,
                                     kyc_verified=True)
    client = create_app({"TESTING": True}, kit=kit).test_client()
    yield kit, client
    kit.engine.dispose()


def register(client, **kwargs) -> str:
    query, headers = registration(**kwargs)
    response = client.get(f"/apps/shopware/register?{query}", headers=headers)
    assert response.status_code == 200, response.json
    answer = response.json
    shop_id = kwargs.get("shop_id", SHOP_ID)
    merchant = kwargs.get("merchant", 3333)
    app_secret = app_secret_for({"app_name": APP_NAME, "app_secret": APP_SECRET}, merchant)
    assert answer["proof"] == hex_hmac(app_secret, f"{shop_id}{SHOP_URL}{APP_NAME}")
    assert answer["confirmation_url"] == f"{PUBLIC}/apps/shopware/confirm"
    assert len(answer["secret"]) >= 64
    body, headers = confirmation(answer["secret"], shop_id)
    confirmed = client.post("/apps/shopware/confirm", data=body, headers=headers)
    assert confirmed.status_code == 200, confirmed.json
    return answer["secret"]


def test_documented_proof_vector():
    assert hex_hmac(APP_SECRET, f"{SHOP_ID}{SHOP_URL}B2BInvoiceKit") == \
        "726e91de36a41f28fa48037fe401434bf443b1e5db09082560a0ab7a86d49366"


def test_registration_creates_the_shop_with_its_credentials(sw):
    kit, client = sw
    secret = register(client)
    with session_scope(kit.engine) as session:
        connection = session.scalars(select(ShopConnection)).one()
        assert (connection.name, connection.external_id, connection.merchant_id) == (
            "shopware-xk2vt9qlm4rwz8pc", SHOP_ID, 3333)
        assert connection.secrets == [secret]
        assert connection.platform_settings["client_id"] == "SWIAEXAMPLEKEY0000000000001"
        assert "pending_secret" not in connection.platform_settings


def test_registration_with_a_bad_app_signature_is_401(sw):
    kit, client = sw
    query, headers = registration()
    headers["shopware-app-signature"] = hex_hmac("wrong", query)
    assert client.get(f"/apps/shopware/register?{query}", headers=headers).status_code == 401
    with session_scope(kit.engine) as session:
        assert session.scalars(select(ShopConnection)).all() == []


def test_confirmation_signed_with_another_secret_is_401(sw):
    _, client = sw
    query, headers = registration()
    client.get(f"/apps/shopware/register?{query}", headers=headers)
    body, headers = confirmation("not-the-secret-we-gave")
    assert client.post("/apps/shopware/confirm", data=body, headers=headers).status_code == 401


def test_re_registration_rotates_and_keeps_the_old_secret_briefly(sw):
    kit, client = sw
    old = register(client)
    new = register(client, shop_secret=old, timestamp=int(time.time()) + 1)
    assert new != old
    body, headers = webhook("checkout.order.placed", order(), old, "e" * 32)
    assert client.post("/webhooks/shopware", data=body, headers=headers).status_code == 202
    with session_scope(kit.engine) as session:
        connection = session.scalars(select(ShopConnection)).one()
        assert connection.secrets == [new, old]
        from datetime import timedelta

        later = connection.previous_secret_until + timedelta(seconds=1)
        assert connection.valid_secrets(later) == [new]


def test_a_re_registration_signed_by_the_app_alone_is_accepted(sw):
    # what Shopware sends when the shop's URL changed (AbstractAppUrlChangeStrategy::
    # reRegisterApp through PrivateHandshake: the app signature only)
    _, client = sw
    old = register(client)
    new = register(client, timestamp=int(time.time()) + 1)
    assert new != old


def test_a_registration_request_is_used_once(sw):
    _, client = sw
    query, headers = registration()
    assert client.get(f"/apps/shopware/register?{query}", headers=headers).status_code == 200
    replay = client.get(f"/apps/shopware/register?{query}", headers=headers)
    assert replay.status_code == 401 and "secret" not in replay.json


SEARCH = f"{SHOP_URL}/api/search/order"
TOKEN = f"{SHOP_URL}/api/oauth/token"


def refunds_answer(order_id, positions):
    return {"data": [{"id": order_id, "transactions": [{"id": "tr1", "captures": [{
        "id": "cap1", "refunds": [{"id": "ref1", "reason": "broken",
                                   "createdAt": "2026-11-05T08:00:00.000+00:00",
                                   "amount": {"totalPrice": 83.3},
                                   "positions": positions}]}]}]}]}


def ledger_view(kit, shop, order_id):
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        order_row = ledger.find_order(shop, order_id)
        state = ledger.state_of(order_row)
        return (state.status.value, state.open_amount,
                [(r.kind, r.gross, r.status) for r in ledger.operations_of(order_row)])


def test_order_lifecycle_from_webhooks(sw):
    kit, client = sw
    secret = register(client)
    shop = "shopware-xk2vt9qlm4rwz8pc"
    first = order()

    def post(event, data, event_id, **kwargs):
        body, headers = webhook(event, data, secret, event_id, **kwargs)
        return client.post("/webhooks/shopware", data=body, headers=headers)

    assert post("checkout.order.placed", first, "a" * 32).status_code == 202
    assert ledger_view(kit, shop, first["id"])[:2] == ("authorised", 549_73)

    shipped = with_updated(first, "2026-11-03T10:00:00.000+00:00")
    assert post("state_enter.order_delivery.state.shipped", shipped, "b" * 32).status_code == 202
    assert ledger_view(kit, shop, first["id"])[:2] == ("active", 549_73)

    returned = with_updated(first, "2026-11-05T08:30:00.000+00:00")
    with responses.RequestsMock() as api:
        api.post(TOKEN, json={"access_token": "tok", "expires_in": 600, "token_type": "Bearer"})
        api.post(SEARCH, json=refunds_answer(first["id"], [
            {"id": "pos1", "orderLineItemId": "li4lamp", "quantity": 2,
             "amount": {"totalPrice": 83.3}}]))
        response = post("state_enter.order_delivery.state.returned_partially", returned,
                        "c" * 32)
        assert response.status_code == 202
        assert api.calls[1].request.headers["Authorization"] == "Bearer tok"
    status, open_amount, ops = ledger_view(kit, shop, first["id"])
    assert (status, open_amount) == ("active", 466_43)
    assert ops[-1] == ("return", 83_30, "succeeded")

    # Shopware retries the same event with a new timestamp and signature: no second effect
    again = post("state_enter.order_delivery.state.returned_partially", returned, "c" * 32,
                 timestamp=1_900_000_000)
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert len(ledger_view(kit, shop, first["id"])[2]) == 3

    second = order(order_id="9f1c2a7be336f9da6b81f8cf753ad645", number="10088")
    assert post("checkout.order.placed", second, "d" * 32).status_code == 202
    cancelled = with_updated(second, "2026-11-04T12:00:00.000+00:00")
    assert post("state_enter.order.state.cancelled", cancelled, "e" * 32).status_code == 202
    assert ledger_view(kit, shop, second["id"]) == ("voided", 0, [
        ("placement", 549_73, "succeeded"), ("full_credit", 549_73, "succeeded")])


def test_partial_return_without_positions_is_flagged_not_guessed(sw):
    kit, client = sw
    secret = register(client)
    for event, event_id, updated in (
            ("checkout.order.placed", "a" * 32, "2026-11-02T09:14:00.000+00:00"),
            ("state_enter.order_delivery.state.shipped", "b" * 32,
             "2026-11-03T10:00:00.000+00:00")):
        body, headers = webhook(event, with_updated(order(), updated), secret, event_id)
        client.post("/webhooks/shopware", data=body, headers=headers)
    with responses.RequestsMock() as api:
        api.post(TOKEN, json={"access_token": "tok", "expires_in": 600})
        api.post(SEARCH, json=refunds_answer(order()["id"], positions=[]))
        body, headers = webhook("state_enter.order_delivery.state.returned_partially",
                                with_updated(order(), "2026-11-05T08:30:00.000+00:00"),
                                secret, "c" * 32)
        assert client.post("/webhooks/shopware", data=body, headers=headers).status_code == 202
    with session_scope(kit.engine) as session:
        dead = session.scalars(select(Delivery).where(Delivery.status == "dead")).one()
        assert "which lines came back" in dead.error


def test_other_shops_secret_is_401_and_writes_nothing(sw):
    kit, client = sw
    register(client)
    other = register(client, shop_id="Ab12Cd34Ef56Gh78")
    body, headers = webhook("checkout.order.placed", order(), other, "f" * 32)  # claims SHOP_ID
    assert client.post("/webhooks/shopware", data=body, headers=headers).status_code == 401
    with session_scope(kit.engine) as session:
        assert session.scalars(select(Delivery)).all() == []


def test_floats_become_exact_minor_units(sw):
    from plugins.shopware.order import to_snapshot

    snapshot = to_snapshot(order(), "s", "open")
    assert (snapshot.total, snapshot.total_tax, snapshot.discount_total) == (549_73, 82_73,
                                                                              10_00)
    chair = next(li for li in snapshot.lines if li.line_id == "li1chair")
    assert (chair.gross, chair.net, chair.tax) == (367_00, 308_40, 58_60)


def test_events_of_other_payment_methods_are_ignored(sw):
    _, client = sw
    secret = register(client)
    paypal = order()
    paypal["transactions"][0]["paymentMethod"] = {"id": "pm-pp", "technicalName":
                                                  "payment_paypal"}
    paypal["transactions"][0]["paymentMethodId"] = "pm-pp"
    body, headers = webhook("checkout.order.placed", paypal, secret, "a" * 32)
    response = client.post("/webhooks/shopware", data=body, headers=headers)
    assert response.status_code == 200 and response.json["status"] == "ignored"


def test_manifest_names_the_kit_and_the_merchant():
    from plugins.shopware.manifest import render

    xml = render(PUBLIC, 3333, "s3cret&")
    assert f"<registrationUrl>{PUBLIC}/apps/shopware/register?merchant=3333</registrationUrl>" \
        in xml
    assert "<secret>s3cret&amp;</secret>" in xml
    from plugins.shopware.order import EVENT_STATUS

    assert xml.count(f'url="{PUBLIC}/webhooks/shopware"') == len(EVENT_STATUS) == 13
    json.dumps(xml)  # plain text, no placeholders left
    assert "PUBLIC_URL" not in xml and "APP_SECRET" not in xml


def test_a_pre_created_shop_registers_without_a_shop_signature(sw):
    kit, client = sw
    with session_scope(kit.engine) as session:
        Ledger(session).add_connection(name="my-shopware", merchant_id=3333,
                                       platform="shopware", external_id=SHOP_ID,
                                       status_map={"shipped": "activate"})
    secret = register(client)
    with session_scope(kit.engine) as session:
        connection = session.scalars(select(ShopConnection)).one()
        assert connection.name == "my-shopware" and connection.secrets == [secret]


def test_reset_registration_lets_a_reinstalled_app_register(sw):
    kit, client = sw
    register(client)
    with session_scope(kit.engine) as session:
        connection = session.scalars(select(ShopConnection)).one()
        connection.platform_settings = {}
        connection.secrets = []
    register(client, timestamp=int(time.time()) + 1)


def test_a_wrong_shop_signature_on_re_registration_is_refused(sw):
    _, client = sw
    register(client)
    query, headers = registration(shop_secret="not-the-shops-secret",
                                  timestamp=int(time.time()) + 1)
    assert client.get(f"/apps/shopware/register?{query}", headers=headers).status_code == 401


def test_one_merchants_manifest_cannot_register_shops_for_another(sw):
    kit, client = sw
    with session_scope(kit.engine) as session:
        Ledger(session).add_merchant(id=4444, name="Other", country="DE", account_holder="O",
                                     bank_code="10020030", account_first=1, account_last=9,
                                     kyc_verified=True)
    query, headers = registration(merchant=3333, shop_id="Zz99Yy88Xx77Ww66")
    forged = query.replace("merchant=3333", "merchant=4444")
    response = client.get(f"/apps/shopware/register?{forged}", headers=headers)
    assert response.status_code == 401
