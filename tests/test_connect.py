"""The WooCommerce plugin's one-click connect: ``invoicekit shops connect-code``,
``POST /api/v1/connect``, a shop's health and disconnect, and the GiroCode and account
holder the write-back gives the plugin's payment block."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import func, select

from conftest import MERCHANT_ID, WOO_SECRET
from core.connect import INVALID, ShopNameTaken, code_hash, issue_code
from core.ledger.db import session_scope
from core.ledger.models import (
    ApiKey,
    ConnectCode,
    Delivery,
    Order,
    ShopConnection,
    WriteBackRecord,
)
from core.ledger.store import Ledger
from webhooks import create_app
from woo import SHOP_URL as HAND_CONNECTED_URL
from woo import body, headers
from woo import order as woo_order

URL = "/api/v1/connect"
SHOP_URL = "https://b2b.example-shop.de"  # not the hand-connected shop of the fixtures
SHOP = "b2b-example-shop-de"  # named after SHOP_URL's host
API = f"{SHOP_URL}/wp-json/wc/v3"
CODE_FORMAT = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}")
REQUEST = {"platform": "woocommerce", "shop_url": SHOP_URL, "shop_name": "Example Shop",
           "consumer_key": "ck_" + "a1" * 20, "consumer_secret": "cs_" + "b2" * 20,
           "payment_method": "invoicekit"}


def new_code(kit, *, shop: str | None = None, minutes: int = 30,
             now: datetime | None = None) -> str:
    with session_scope(kit.engine) as session:
        return issue_code(Ledger(session), MERCHANT_ID, shop=shop, minutes=minutes, now=now)[1]


def connect(client, code: str, **changes):
    return client.post(URL, json={"code": code, **REQUEST, **changes})


def stored(kit) -> tuple[int, int, int]:
    """Connections, API keys and used codes."""
    with session_scope(kit.engine, write=False) as session:
        return tuple(session.scalar(select(func.count()).select_from(table).where(*where))
                     for table, where in ((ShopConnection, ()), (ApiKey, ()),
                                          (ConnectCode, (ConnectCode.used_at.is_not(None),))))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def order(**kwargs) -> dict:
    """A WooCommerce order paid with the plugin's payment method."""
    return woo_order(payment_method="invoicekit", **kwargs)


def deliver(client, shop: str, secret: str, data: dict, topic: str = "order.created"):
    raw = body(data)
    return client.post(f"/webhooks/woocommerce/{shop}", data=raw,
                       headers=headers(raw, secret, topic))


@pytest.fixture
def shop_api():
    """The shop's REST API as the write-back and the drift check call it."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.put(f"{API}/orders/4711", json={"id": 4711})
        api.post(f"{API}/orders/4711/notes", status=201, json={"id": 1})
        yield api


# -- the code ----------------------------------------------------------------------------------


def test_the_command_prints_a_code_stored_only_as_its_hash(kit, woo_shop, monkeypatch, tmp_path,
                                                           database_url):
    from webhooks.cli import main

    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")
    result = CliRunner().invoke(main, ["shops", "connect-code", "--merchant", str(MERCHANT_ID),
                                       "--valid-minutes", "10"])
    assert result.exit_code == 0, result.output
    code = CODE_FORMAT.search(result.stdout)[0]
    assert "valid until" in result.stdout
    assert "WordPress under WooCommerce → invoicekit (plugin invoicekit for WooCommerce)" in \
        result.stdout and kit.settings.public_url in result.stdout
    with session_scope(kit.engine, write=False) as session:
        record = session.scalars(select(ConnectCode)).one()
        assert record.code_hash == code_hash(code) and record.shop is None
        assert record.expires_at - record.created_at == timedelta(minutes=10)
        assert (record.used_at, record.used_by_shop) == (None, None)
    with kit.engine.connect() as db:  # the code itself is nowhere in the database
        assert all(code not in repr(row) and code.replace("-", "") not in repr(row)
                   for row in db.exec_driver_sql("SELECT * FROM connect_codes"))
    refused = CliRunner().invoke(main, ["shops", "connect-code", "--merchant", "999"])
    assert refused.exit_code != 0 and "merchant 999 does not exist" in refused.output
    too_long = CliRunner().invoke(main, ["shops", "connect-code", "--merchant", "3333",
                                         "--valid-minutes", "1441"])
    assert too_long.exit_code != 0 and "--valid-minutes" in too_long.output


def test_a_code_naming_another_merchants_or_platforms_shop_is_refused(kit, woo_shop):
    with session_scope(kit.engine) as session:
        Ledger(session).add_connection(name="erp", merchant_id=MERCHANT_ID, platform="generic")
    with pytest.raises(ShopNameTaken, match="taken"):
        new_code(kit, shop="erp")


# -- connecting --------------------------------------------------------------------------------


def test_a_shop_connects_with_a_code(client, kit):
    code = new_code(kit)
    answer = connect(client, code.lower().replace("-", " "))  # as pasted: case, spaces
    assert answer.status_code == 201, answer.json
    data = answer.json
    assert {k: v for k, v in data.items() if k not in ("webhook_secret", "api_key")} == {
        "shop": SHOP, "merchant_id": MERCHANT_ID, "platform": "woocommerce",
        "delivery_url": f"{kit.settings.public_url}/webhooks/woocommerce/{SHOP}",
        "topics": ["order.created", "order.updated"]}
    assert data["api_key"].startswith("ik_") and len(data["webhook_secret"]) >= 32
    with session_scope(kit.engine, write=False) as session:
        connection = Ledger(session).connection(SHOP)
        assert connection.merchant_id == MERCHANT_ID and connection.platform == "woocommerce"
        assert connection.secrets == [data["webhook_secret"]]
        assert connection.platform_settings == {
            "rest_url": SHOP_URL, "consumer_key": REQUEST["consumer_key"],
            "consumer_secret": REQUEST["consumer_secret"], "shop_name": "Example Shop",
            "shop_url": SHOP_URL, "payment_methods": ["invoicekit"]}
        assert connection.status_map == {"completed": "activate", "cancelled": "cancel",
                                         "refunded": "cancel"}
        key = session.scalars(select(ApiKey).where(ApiKey.name == f"woocommerce:{SHOP}")).one()
        assert key.revoked_at is None
        assert session.scalars(select(ConnectCode.used_by_shop)).one() == SHOP
    eligibility = client.post("/api/v1/eligibility", headers=bearer(data["api_key"]), json={
        "amount": "1190.00", "currency": "EUR", "buyer": {
            "company": "Muster Bürobedarf", "legal_form": "GmbH", "street": "Hauptstraße 5",
            "postcode": "10115", "city": "Berlin", "country": "DE"}})
    assert eligibility.status_code == 200


def test_a_second_shop_of_the_same_host_gets_a_name_of_its_own(client, kit):
    first = connect(client, new_code(kit), shop_url=f"{SHOP_URL}/de").json["shop"]
    second = connect(client, new_code(kit), shop_url=f"{SHOP_URL}/at").json["shop"]
    assert (first, second) == (SHOP, f"{SHOP}-2")


def test_the_same_shop_connecting_again_after_a_disconnect_keeps_its_connection(client, kit):
    first = connect(client, new_code(kit)).json
    connections = stored(kit)[0]
    assert client.delete(f"/api/v1/shops/{first['shop']}/connection",
                         headers=bearer(first["api_key"])).status_code == 200
    again = connect(client, new_code(kit), shop_url=REQUEST["shop_url"].upper() + "/")
    assert again.status_code == 201, again.json
    assert again.json["shop"] == first["shop"]
    assert again.json["webhook_secret"] != first["webhook_secret"]
    with session_scope(kit.engine, write=False) as session:
        connection = Ledger(session).connection(first["shop"])
        assert connection.secrets == [again.json["webhook_secret"]]
        assert connection.platform_settings["consumer_key"] == REQUEST["consumer_key"]
    assert stored(kit)[0] == connections


def test_secrets_are_never_logged(client, kit, caplog):
    caplog.set_level("DEBUG")
    code = new_code(kit)
    data = connect(client, code).json
    assert connect(client, code).status_code == 401
    for secret in (code, code.replace("-", ""), REQUEST["consumer_secret"],
                   REQUEST["consumer_key"], data["webhook_secret"], data["api_key"]):
        assert secret not in caplog.text


@pytest.mark.parametrize("case", ["unknown", "expired", "reused"])
def test_an_unknown_expired_or_used_code_gets_401_and_stores_nothing(client, kit, case):
    if case == "unknown":
        code = "7Q4M-XP2D-9HRT-KM3W"
    elif case == "expired":  # made 31 minutes ago, valid for 30
        code = new_code(kit, now=datetime.now(UTC) - timedelta(minutes=31))
    else:
        code = new_code(kit)
        assert connect(client, code).status_code == 201
    before = stored(kit)
    answer = connect(client, code, shop_url="https://other.example")
    assert (answer.status_code, answer.json) == (401, {"error": INVALID})
    assert stored(kit) == before


@pytest.mark.parametrize(("change", "field"), [
    ({"code": None}, "code"),
    ({"platform": "shopware"}, "platform"),
    ({"shop_url": "ftp://shop.example"}, "shop_url"),
    ({"shop_url": "not a url"}, "shop_url"),
    ({"shop_url": "http://shop.example"}, "shop_url"),  # REST keys work over https only
    ({"consumer_key": "ck_short"}, "consumer_key"),
    ({"consumer_secret": "ck_" + "b2" * 20}, "consumer_secret"),
    ({"payment_method": ""}, "payment_method"),
    ({"webhook_secret": "mine"}, "webhook_secret"),
])
def test_bad_fields_get_422_naming_them_and_leave_the_code_usable(client, kit, change, field):
    code = new_code(kit)
    before = stored(kit)
    answer = client.post(URL, json={"code": code, **REQUEST, **change})
    assert answer.status_code == 422, answer.json
    assert field in answer.json["fields"] and field in answer.json["error"]
    assert REQUEST["consumer_secret"] not in answer.get_data(as_text=True)
    assert stored(kit) == before
    assert connect(client, code).status_code == 201  # the retry with good fields


def test_a_body_that_is_not_a_json_object_gets_400(client, kit):
    assert client.post(URL, data=b"code=1").status_code == 400
    assert client.post(URL, json=["code"]).status_code == 400


def test_of_two_uses_of_one_code_at_once_one_connects(kit, woo_shop):
    app = create_app({"TESTING": True}, kit=kit)
    code, start, statuses = new_code(kit), threading.Barrier(2), []

    def use() -> None:
        client = app.test_client()
        start.wait()
        statuses.append(connect(client, code).status_code)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 401]
    assert stored(kit) == (2, 1, 1)  # acme and the new shop; one key; the code used once


def test_a_code_naming_a_shop_connects_it_again(client, kit, woo_shop):
    first = connect(client, new_code(kit, shop="acme"))
    assert first.status_code == 201 and first.json["shop"] == "acme"
    second = connect(client, new_code(kit, shop="acme"), payment_method="b2b_invoice")
    assert second.status_code == 201 and second.json["shop"] == "acme"
    assert second.json["webhook_secret"] not in (WOO_SECRET, first.json["webhook_secret"])
    with session_scope(kit.engine, write=False) as session:
        connection = Ledger(session).connection("acme")
        assert connection.secrets == [second.json["webhook_secret"]]
        assert connection.platform_settings["payment_methods"] == ["b2b_invoice"]
        keys = session.scalars(select(ApiKey).where(ApiKey.name == "woocommerce:acme")
                               .order_by(ApiKey.id)).all()
        assert [k.revoked_at is None for k in keys] == [False, True]
    assert client.get("/api/v1/shops/acme/health",
                      headers=bearer(first.json["api_key"])).status_code == 401
    assert deliver(client, "acme", WOO_SECRET, order()).status_code == 401


def test_connect_counts_against_the_api_rate_limit(kit, woo_shop):
    kit.settings = dataclasses.replace(kit.settings, office={"api_per_minute": 2})
    client = create_app({"TESTING": True}, kit=kit).test_client()
    statuses = [connect(client, "7Q4M-XP2D-9HRT-KM3W").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


# -- health and disconnect ---------------------------------------------------------------------


def test_health_counts_deliveries_and_write_backs(client, kit, shop_api):
    data = connect(client, new_code(kit)).json
    key, shop = data["api_key"], data["shop"]
    empty = client.get(f"/api/v1/shops/{shop}/health", headers=bearer(key))
    assert (empty.status_code, empty.json) == (200, {
        "shop": shop, "platform": "woocommerce", "provider": "local",
        "deliveries": {"last_at": None, "last_status": None, "pending": 0, "dead": 0},
        "writebacks": {"last_at": None, "last_status": None, "pending": 0, "dead": 0},
        "rest_credentials": True})
    assert deliver(client, shop, data["webhook_secret"], order()).status_code == 202
    health = client.get(f"/api/v1/shops/{shop}/health", headers=bearer(key)).json
    with session_scope(kit.engine, write=False) as session:
        received = session.scalars(select(Delivery.received_at)).one()
        sent = session.scalars(select(WriteBackRecord.sent_at)).one()
    assert health["deliveries"] == {"last_at": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                    "last_status": "done", "pending": 0, "dead": 0}
    assert health["writebacks"] == {"last_at": sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                    "last_status": "done", "pending": 0, "dead": 0}


def test_health_of_another_merchants_shop_is_404(client, kit):
    data = connect(client, new_code(kit)).json
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(id=4444, name="Other GmbH", country="DE", account_holder="Other",
                            bank_code="10020030", account_first=5_000_000_000,
                            account_last=5_000_009_999)
        ledger.add_connection(name="other", merchant_id=4444, platform="woocommerce")
    for shop in ("other", "no-such-shop"):
        answer = client.get(f"/api/v1/shops/{shop}/health", headers=bearer(data["api_key"]))
        assert (answer.status_code, answer.json) == (404, {"error": "no such shop"})
    assert client.delete("/api/v1/shops/other/connection",
                         headers=bearer(data["api_key"])).status_code == 404
    assert client.get(f"/api/v1/shops/{data['shop']}/health").status_code == 401


def test_the_merchants_shops_of_other_platforms_are_404_and_stay_connected(client, kit):
    """A WooCommerce plugin's key (any key of the merchant) cannot disconnect the merchant's
    Shopware app or generic connection: no code could ever connect those again."""
    data = connect(client, new_code(kit)).json
    settings = {"rest_url": "https://erp.example", "consumer_key": "k", "consumer_secret": "s"}
    with session_scope(kit.engine) as session:
        Ledger(session).add_connection(name="erp", merchant_id=MERCHANT_ID, platform="generic",
                                       secrets=["erp-secret"], platform_settings=settings)
    for answer in (client.get("/api/v1/shops/erp/health", headers=bearer(data["api_key"])),
                   client.delete("/api/v1/shops/erp/connection",
                                 headers=bearer(data["api_key"]))):
        assert (answer.status_code, answer.json) == (404, {"error": "no such shop"})
    with session_scope(kit.engine, write=False) as session:
        erp = Ledger(session).connection("erp")
        assert (erp.secrets, erp.platform_settings) == (["erp-secret"], settings)


def test_disconnect_revokes_the_key_and_refuses_deliveries_but_keeps_orders(client, kit,
                                                                           shop_api):
    data = connect(client, new_code(kit)).json
    key, shop, secret = data["api_key"], data["shop"], data["webhook_secret"]
    assert deliver(client, shop, secret, order()).status_code == 202
    answer = client.delete(f"/api/v1/shops/{shop}/connection", headers=bearer(key))
    assert (answer.status_code, answer.json) == (200, {"shop": shop, "status": "disconnected"})
    assert client.get(f"/api/v1/shops/{shop}/health", headers=bearer(key)).status_code == 401
    later = order(status="completed", modified="2026-11-03T14:00:00")
    assert deliver(client, shop, secret, later, "order.updated").status_code == 401
    with session_scope(kit.engine, write=False) as session:
        connection = Ledger(session).connection(shop)
        assert connection.secrets == []
        assert connection.platform_settings == {"shop_name": "Example Shop",
                                                "shop_url": REQUEST["shop_url"],
                                                "payment_methods": ["invoicekit"]}
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        assert session.scalars(select(ApiKey.revoked_at)).one() is not None


# -- the plugin's payment block ----------------------------------------------------------------


def test_the_write_back_carries_the_account_holder_and_a_girocode_link(client, kit, shop_api):
    data = connect(client, new_code(kit)).json
    shop, secret = data["shop"], data["webhook_secret"]
    assert deliver(client, shop, secret, order()).status_code == 202
    completed = order(status="completed", modified="2026-11-03T14:00:00")
    assert deliver(client, shop, secret, completed, "order.updated").status_code == 202
    metas = [{m["key"]: m["value"] for m in json.loads(c.request.body)["meta_data"]}
             for c in shop_api.calls if c.request.method == "PUT"]
    assert "invoicekit_girocode_url" not in metas[0]  # authorised: no invoice yet
    assert metas[1]["invoicekit_account_holder"] == "ACME Receivables"
    url = metas[1]["invoicekit_girocode_url"]
    assert url.startswith(f"{kit.settings.public_url}/documents/")
    image = client.get(url.removeprefix(kit.settings.public_url))
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.headers["Cache-Control"] == "private, no-store"
    assert client.get(url.removeprefix(kit.settings.public_url) + "x").status_code == 404


def test_a_shop_connected_by_hand_is_taken_over_by_the_plugin(client, kit, woo_shop):
    """The fixture's shop ``acme`` was added with ``shops add`` for the same address."""
    answer = connect(client, new_code(kit), shop_url=HAND_CONNECTED_URL)
    assert (answer.status_code, answer.json["shop"]) == (201, "acme")
    with session_scope(kit.engine, write=False) as session:
        connection = Ledger(session).connection("acme")
        assert connection.platform_settings["payment_methods"] == ["invoicekit"]
        assert connection.secrets == [answer.json["webhook_secret"]]
