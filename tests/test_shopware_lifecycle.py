"""The app's lifecycle against the Shopware stand-in: a registration request is good for
one registration, a re-registration signed by the app alone (what Shopware sends when the
shop's URL changed) is accepted, and an uninstall (``app.deleted``) forgets the
registration so that the old secret stops working and a fresh install needs no manual
step."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from test_shopware_admin_api import PUBLIC, install, kit, manifest  # noqa: F401  (kit fixture)

from core.ledger.db import session_scope
from core.ledger.models import ShopConnection
from plugins.shopware.signature import hex_hmac
from shopware_standin import Product, StandIn, priced_order, running

CHAIRS = Product("Office chair", 2, Decimal("183.50"), Decimal(19), "CH-2")
def reach(client):
    """``get`` and ``post`` into the kit, for the stand-in."""
    def get(url, headers):
        response = client.get(url.removeprefix(PUBLIC), headers=headers)
        return response.status_code, response.get_json(silent=True) or {}

    def post(url, body, headers):
        response = client.post(url.removeprefix(PUBLIC), data=body, headers=headers)
        return response.status_code, response.get_json(silent=True) or {}

    return get, post


def order_webhook(shop, client, order_id):
    url, body, headers = shop.webhook("checkout.order.placed", order_id)
    return client.post(url.removeprefix(PUBLIC), data=body, headers=headers).status_code


def connection(the_kit) -> ShopConnection:
    with session_scope(the_kit.engine) as session:
        row = session.scalars(select(ShopConnection)).one()
        session.expunge(row)
        return row


def test_a_registration_request_replayed_before_the_confirmation_is_refused(kit):  # noqa: F811
    the_kit, client = kit
    get, post = reach(client)
    replays = []

    def get_and_replay(url, headers):  # someone holding the signed URL tries it at once
        answer = get(url, headers)
        replays.append(get(url, headers))
        return answer

    with running(StandIn()) as shop:
        install(shop, client)  # a first install, then Shopware registers again
        result = shop.register(get_and_replay, post)
        assert result["status"] == 200, result
        assert replays[0][0] == 401 and "secret" not in replays[0][1]
        assert get(*shop.last_registration)[0] == 401  # and after the confirmation
        assert connection(the_kit).secrets[0] == shop.shop_secret
        order = shop.add_order(priced_order([CHAIRS]))
        assert order_webhook(shop, client, order["id"]) == 202


def test_a_re_registration_signed_by_the_app_alone_is_accepted(kit):  # noqa: F811
    the_kit, client = kit
    get, post = reach(client)
    with running(StandIn(version="6.5.8.0")) as shop:
        install(shop, client)
        old_secret, old_key = shop.shop_secret, shop.client_id
        # AbstractAppUrlChangeStrategy::reRegisterApp: new API credentials, a new handshake
        result = shop.register(get, post)
        assert result["status"] == 200, result
        assert shop.shop_secret != old_secret and shop.client_id != old_key
        assert connection(the_kit).platform_settings["client_id"] == shop.client_id
        order = shop.add_order(priced_order([CHAIRS]))
        assert order_webhook(shop, client, order["id"]) == 202


def test_a_re_registration_with_a_wrong_shop_signature_is_refused(kit):  # noqa: F811
    _, client = kit
    get, post = reach(client)
    with running(StandIn()) as shop:
        install(shop, client)

        def forged(url, headers):
            query = url.split("?", 1)[1]
            return get(url, {**headers, "shopware-shop-signature": hex_hmac("guess", query)})

        assert shop.register(forged, post)["status"] == 401


def test_an_uninstall_forgets_the_registration_and_a_fresh_install_works(kit):  # noqa: F811
    the_kit, client = kit
    with running(StandIn()) as shop:
        install(shop, client, manifest())
        order = shop.add_order(priced_order([CHAIRS]))
        assert order_webhook(shop, client, order["id"]) == 202
        queued = shop.webhook("checkout.order.placed", order["id"])  # signed with the old
        deleted = shop.uninstall()
        assert deleted is not None, "the manifest subscribes to app.deleted"
        url, body, headers = deleted
        answer = client.post(url.removeprefix(PUBLIC), data=body, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        forgotten = connection(the_kit)
        assert forgotten.secrets == [] and "client_id" not in forgotten.platform_settings
        assert forgotten.status_map == {"shipped": "activate", "cancelled": "cancel",
                                        "refunded": "cancel"}
        url, body, headers = queued
        assert client.post(url.removeprefix(PUBLIC), data=body, headers=headers).status_code \
            == 401

        install(shop, client, manifest())  # installed again: no reset by hand
        assert connection(the_kit).secrets == [shop.shop_secret]
        again = shop.add_order(priced_order([CHAIRS], number="10002"))
        assert order_webhook(shop, client, again["id"]) == 202


def test_payment_state_changes_reach_the_kit(kit):  # noqa: F811
    the_kit, client = kit
    with running(StandIn()) as shop:
        install(shop, client)
        order = shop.add_order(priced_order([CHAIRS]))
        assert order_webhook(shop, client, order["id"]) == 202
        shop.set_state(order["id"], "transaction", "paid", "2026-11-04T10:00:00.000+00:00")
        paid = shop.webhook("state_enter.order_transaction.state.paid", order["id"])
        assert paid is not None, "the manifest subscribes to paid transactions"
        shop.set_state(order["id"], "transaction", "cancelled", "2026-11-05T10:00:00.000+00:00")
        cancelled = shop.webhook("state_enter.order_transaction.state.cancelled", order["id"])
        assert cancelled is not None, "the manifest subscribes to cancelled transactions"
        for url, body, headers in (paid, cancelled):
            response = client.post(url.removeprefix(PUBLIC), data=body, headers=headers)
            assert response.status_code == 202, response.get_json()
    with session_scope(the_kit.engine) as session:
        from core.ledger.store import Ledger

        ledger = Ledger(session)
        row = ledger.find_order("shopware-xk2vt9qlm4rwz8pc", order["id"])
        assert ledger.state_of(row).status.value == "voided"  # cancelled before shipping


def test_a_payment_shopware_failed_voids_the_placement(kit):  # noqa: F811
    the_kit, client = kit
    with running(StandIn()) as shop:
        install(shop, client)
        order = shop.add_order(priced_order([CHAIRS]))
        assert order_webhook(shop, client, order["id"]) == 202
        shop.set_state(order["id"], "transaction", "failed", "2026-11-04T10:00:00.000+00:00")
        failed = shop.webhook("state_enter.order_transaction.state.failed", order["id"])
        assert failed is not None, "the manifest subscribes to failed transactions"
        url, body, headers = failed
        assert client.post(url.removeprefix(PUBLIC), data=body,
                           headers=headers).status_code == 202
    with session_scope(the_kit.engine) as session:
        from core.ledger.store import Ledger

        ledger = Ledger(session)
        row = ledger.find_order("shopware-xk2vt9qlm4rwz8pc", order["id"])
        assert ledger.state_of(row).status.value == "voided"  # the limit is free again


def test_an_order_paid_otherwise_is_recorded_as_ignored_without_its_body(kit):  # noqa: F811
    the_kit, client = kit
    with running(StandIn()) as shop:
        install(shop, client)
        order = shop.add_order(priced_order([CHAIRS], payment="payment_prepayment"))
        url, body, headers = shop.webhook("checkout.order.placed", order["id"])
        response = client.post(url.removeprefix(PUBLIC), data=body, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ignored", "reason": "not paid by invoice",
                                   "delivery": 1}
    from core.ledger.models import Delivery

    with session_scope(the_kit.engine) as session:
        row = session.get(Delivery, 1)
        assert (row.status, row.body, row.shop_order_id) == ("ignored", b"", order["id"])
