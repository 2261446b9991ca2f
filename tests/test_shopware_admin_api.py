"""The Shopware app against a stand-in built from Shopware's source (tests/shopware_standin):
the app installed from the manifest the kit renders, Admin API reads negotiated as plain
JSON, the write-back under the ACL the manifest grants, transitions along Shopware's
payment state machine."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from sqlalchemy import select

from core.config import Settings
from core.context import WriteBack
from core.errors import PermanentError
from core.kit import Kit
from core.ledger.db import session_scope
from core.ledger.models import ShopConnection
from core.ledger.store import Ledger
from plugins.shopware import admin
from plugins.shopware.manifest import render
from plugins.shopware.plugin import enrich_snapshot, fetch_orders, parse_delivery, write_back
from plugins.shopware.registration import app_secret_for
from shopware import APP_NAME, APP_SECRET
from shopware_standin import Product, StandIn, priced_order, running
from shopware_standin.schema import PRIVILEGE_DEPENDENCE, manifest_privileges
from webhooks import create_app

PUBLIC = "https://kit.example"
SHOP = "shopware-xk2vt9qlm4rwz8pc"
CHAIRS = Product("Office chair", 2, Decimal("183.50"), Decimal(19), "CH-2")
PAPER = Product("Printer paper A4", 10, Decimal("5.35"), Decimal(7), "PA-4")


@pytest.fixture
def kit(tmp_path, engine):
    settings = Settings(home=tmp_path, database_url=engine.url.render_as_string(
        hide_password=False), queue_url="memory://", public_url=PUBLIC,
        platforms={"shopware": {"app_name": APP_NAME, "app_secret": APP_SECRET}})
    kit = Kit.create(settings)
    admin._tokens.clear()
    with session_scope(kit.engine) as session:
        Ledger(session).add_merchant(id=3333, name="ACME Office GmbH", country="DE",
                                     account_holder="ACME", bank_code="10020030",
                                     account_first=4_000_000_000, account_last=4_000_009_999,
                                     kyc_verified=True)
    yield kit, create_app({"TESTING": True}, kit=kit).test_client()
    admin._tokens.clear()
    kit.engine.dispose()


def manifest() -> str:
    secret = app_secret_for({"app_name": APP_NAME, "app_secret": APP_SECRET}, 3333)
    return render(PUBLIC, 3333, secret)


def install(shop: StandIn, client, manifest_xml: str | None = None) -> dict:
    def get(url, headers):
        response = client.get(url.removeprefix(PUBLIC), headers=headers)
        return response.status_code, response.get_json(silent=True) or {}

    def post(url, body, headers):
        response = client.post(url.removeprefix(PUBLIC), data=body, headers=headers)
        return response.status_code, response.get_json(silent=True) or {}

    result = shop.install(manifest_xml or manifest(), get, post)
    assert result["status"] == 200, result
    return result


def settings_of(kit) -> dict:
    with session_scope(kit.engine) as session:
        return dict(session.scalars(select(ShopConnection)).one().platform_settings)


@pytest.fixture
def shopware():
    """The shop, with the ACL its manifest grants enforced."""
    with running(StandIn()) as shop:
        yield shop


@pytest.fixture
def lenient():
    """The shop with every privilege: for what does not depend on the manifest."""
    with running(StandIn(enforce_acl=False)) as shop:
        yield shop


def writeback(event: str, order_id: str, **values: str) -> WriteBack:
    return WriteBack(id=1, idempotency_key="ab" * 32, event=event, shop=SHOP,
                     shop_order_id=order_id, order_number="10001", note=f"{event}.",
                     values=values, occurred_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC))


# -- the stand-in answers like Shopware ------------------------------------------------------


def test_the_stand_in_negotiates_like_shopware(lenient, kit):
    install(lenient, kit[1])
    order = lenient.add_order(priced_order([CHAIRS]))
    token = requests.post(f"{lenient.shop_url}/api/oauth/token", json={
        "grant_type": "client_credentials", "client_id": lenient.client_id,
        "client_secret": lenient.client_secret}, timeout=5).json()["access_token"]
    criteria = {"ids": [order["id"]], "associations": {"transactions": {}}}

    def search(accept):
        headers = {"Authorization": f"Bearer {token}", "Accept": accept}  # None: no header
        return requests.post(f"{lenient.shop_url}/api/search/order", json=criteria,
                             headers=headers, timeout=5)

    default = search("*/*")  # what requests sends unless told otherwise
    assert default.headers["Content-Type"] == "application/vnd.api+json"
    resource = default.json()["data"][0]
    assert resource["type"] == "order" and resource["attributes"]["orderNumber"] == "10001"
    assert resource["relationships"]["transactions"]["data"] == [
        {"type": "order_transaction", "id": order["transactions"][0]["id"]}]
    # associations asked for, and the autoloaded orderCustomer, come as included resources
    assert [i["type"] for i in default.json()["included"]] == ["order_customer",
                                                              "order_transaction"]
    plain = search("application/json")
    assert plain.headers["Content-Type"] == "application/json"
    assert plain.json()["data"][0]["transactions"][0]["id"] == order["transactions"][0]["id"]
    assert search(None).status_code == 415


# -- 1: reads as plain JSON --------------------------------------------------------------------


def test_every_admin_api_call_asks_for_plain_json(lenient, kit):
    install(lenient, kit[1])
    lenient.add_order(priced_order([CHAIRS, PAPER]))
    settings = settings_of(kit[0])
    fetched = list(fetch_orders(platform="shopware", settings=settings,
                                modified_since=datetime(2026, 11, 1, tzinfo=UTC),
                                order_id=None))
    parsed = parse_delivery(platform="shopware", shop=SHOP, body=fetched[0].body,
                            headers=fetched[0].headers, settings=settings)
    assert parsed.ignored is None, parsed.ignored  # read as paid by invoice
    assert parsed.snapshots[0].total == 432_40
    for call in lenient.calls:
        assert call.headers.get("Accept") == "application/json", call.path
        if call.body is not None:
            assert call.headers["Content-Type"] == "application/json"


def test_a_partial_return_reads_its_refund_positions(lenient, kit):
    install(lenient, kit[1])
    order = lenient.add_order(priced_order([CHAIRS, PAPER]))
    paper = order["lineItems"][1]["id"]
    order["transactions"][0]["captures"] = [{
        "id": "c" * 32, "amount": {"totalPrice": 432.4}, "refunds": [{
            "id": "r" * 32, "reason": "damaged", "createdAt": "2026-11-05T08:00:00.000+00:00",
            "amount": {"totalPrice": 10.7},
            "positions": [{"id": "p" * 32, "orderLineItemId": paper, "quantity": 2,
                           "amount": {"totalPrice": 10.7}}]}]}]
    parsed = parse_delivery(platform="shopware", shop=SHOP, body=lenient.webhook(
        "state_enter.order_delivery.state.returned_partially", order["id"])[1], headers={},
        settings=settings_of(kit[0]))
    enriched = enrich_snapshot(platform="shopware", snapshot=parsed.snapshots[0],
                               settings=settings_of(kit[0]))
    assert [(r.refund_id, r.amount, [(li.line_id, li.quantity) for li in r.lines or ()])
            for r in enriched.refunds] == [("r" * 32, 10_70, [(paper, 2)])]


def test_a_configured_transition_moves_the_transaction(lenient, kit):
    install(lenient, kit[1])
    order = lenient.add_order(priced_order([CHAIRS]))
    settings = {**settings_of(kit[0]), "transitions": {"paid": "paid"}}
    result = write_back(platform="shopware", writeback=writeback(
        "paid", order["id"], state="paid", open_amount="0.00"), settings=settings)
    assert result == "custom fields written; transaction paid"
    assert order["transactions"][0]["stateMachineState"]["technicalName"] == "paid"
    assert json.dumps(order["customFields"]).count("invoicekit_") == 4


# -- 2: the manifest grants what the kit does, and nothing more --------------------------------


def kit_calls_every_admin_api_read_and_write(shop: StandIn, settings: dict) -> None:
    """Run each Admin API call the plugin makes: the poll, one order, an order's refunds,
    the write-back's custom fields and a transaction transition."""
    order = shop.add_order(priced_order([CHAIRS, PAPER]))
    since = datetime(2026, 11, 1, tzinfo=UTC)
    fetched = list(fetch_orders(platform="shopware", settings=settings, modified_since=since,
                                order_id=None))
    fetch_orders(platform="shopware", settings=settings, modified_since=None,
                 order_id=order["id"])
    order["transactions"][0]["captures"] = [{"id": "c" * 32, "refunds": [{
        "id": "r" * 32, "amount": {"totalPrice": 10.7}, "createdAt": "2026-11-05T08:00:00Z",
        "positions": []}]}]
    snapshot = parse_delivery(platform="shopware", shop=SHOP, body=fetched[0].body,
                              headers=fetched[0].headers, settings=settings).snapshots[0]
    enrich_snapshot(platform="shopware", settings=settings,
                    snapshot=replace(snapshot, status="refunded_partially"))
    assert write_back(platform="shopware", settings={**settings, "transitions": {
        "paid": "paid"}}, writeback=writeback("paid", order["id"], state="paid")) == \
        "custom fields written; transaction paid"


def granted(privileges) -> set[str]:
    """What Shopware grants for a list of privileges (each write brings its read)."""
    result = set()
    for privilege in privileges:
        entity, kind = privilege.rsplit(":", 1)
        result |= {f"{entity}:{k}" for k in [kind, *PRIVILEGE_DEPENDENCE[kind]]}
    return result


def test_the_manifest_asks_for_exactly_the_privileges_the_kit_uses(kit):
    # Shopware 6.5.0 to 6.5.3 still check the transition's history row against the app
    with running(StandIn(enforce_acl=False, version="6.5.0.0")) as shop:
        install(shop, kit[1])
        kit_calls_every_admin_api_read_and_write(shop, settings_of(kit[0]))
    used = [p for call in shop.calls for p in call.needed]
    used.append("order:read")  # order webhooks reach only apps that may read orders
    assert manifest_privileges(manifest()) == granted(used)


@pytest.mark.parametrize("version", ["6.5.0.0", "6.6.9.0"])
def test_the_write_back_works_with_the_privileges_of_the_manifest(kit, version):
    with running(StandIn(version=version)) as shop:
        install(shop, kit[1])
        kit_calls_every_admin_api_read_and_write(shop, settings_of(kit[0]))
    assert all(call.status in (200, 204) for call in shop.calls), \
        [(c.path, c.status) for c in shop.calls]
    assert [(h["fromState"], h["toState"]) for h in shop.history] == [("open", "paid")]


def test_a_missing_privilege_says_which_and_how_to_grant_it(kit, shopware):
    old = manifest().replace("<update>order</update>", "")  # an app installed before
    install(shopware, kit[1], old)
    order = shopware.add_order(priced_order([CHAIRS]))
    with pytest.raises(PermanentError) as caught:
        write_back(platform="shopware", settings=settings_of(kit[0]),
                   writeback=writeback("authorised", order["id"], state="authorised"))
    message = str(caught.value)
    assert "order:update" in message and "python -m plugins.shopware.manifest" in message
    assert "register the app again" not in message
    assert [(c.path, c.status) for c in shopware.calls][-1] == (
        f"/api/order/{order['id']}", 403)


def test_a_transition_shopware_does_not_allow_is_reported_with_its_reason(kit, shopware):
    install(shopware, kit[1])
    order = shopware.add_order(priced_order([CHAIRS]))
    shopware.set_state(order["id"], "transaction", "refunded", "2026-11-04T10:00:00Z")
    result = write_back(platform="shopware", settings={**settings_of(kit[0]), "transitions": {
        "paid": "pay_partially"}}, writeback=writeback("paid", order["id"], state="paid"))
    assert result == ("custom fields written; transition pay_partially not allowed from "
                      "refunded (400)")
    assert shopware.history == []
