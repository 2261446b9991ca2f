"""What a WooCommerce shop changes about an order the kit placed, replayed from the recordings
of a real WooCommerce 10.5.2 (issue 22): the payment method changed after invoicing, a
placed order set to failed, a declined order completed anyway, a refund deleted, a webhook
disabled after failed deliveries, and a REST URL over plain http. Each ends with the right
ledger state or a visible refusal (a note to the shop, ``orders show``, the drift report)."""

from __future__ import annotations

import json

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import select

from core.ledger.db import session_scope
from core.ledger.models import Delivery, OrderDrift, RefusalRecord, WriteBackRecord
from core.ledger.store import Ledger
from core.sync.poll import sync_all
from core.writeback.outbox import send_due
from recordings import (
    RECORDINGS_DIR,
    REST,
    REST_URL,
    SHOP,
    connect,
    post,
    recording,
    replay,
    serve_rest,
)


def ledger_view(kit, order_id: str):
    """The order's status, its operations (kind, status) and its refusals' messages."""
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        order = ledger.find_order(SHOP, order_id)
        operations = [(r.kind, r.status, r.after_activation)
                      for r in ledger.operations_of(order)]
        refusals = list(session.scalars(select(RefusalRecord.message)
                                        .where(RefusalRecord.order_id == order.id)))
        return ledger.state_of(order).status.value, operations, refusals


def writeback_events(kit) -> list[str]:
    with session_scope(kit.engine) as session:
        return list(session.scalars(select(WriteBackRecord.event).order_by(WriteBackRecord.id)))


def cli(kit, monkeypatch, *args: str, code: int = 0) -> str:
    """Run a command on the kit's instance; its standard output (all of it on an error)."""
    from webhooks.cli import main

    monkeypatch.setenv("INVOICEKIT_HOME", str(kit.settings.home))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", kit.settings.database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output if "Error" in result.output else result.stdout


def orders_show(kit, monkeypatch, order_id: str, *args: str) -> str:
    return cli(kit, monkeypatch, "orders", "show", SHOP, order_id, *args)


# -- 1. an order the kit placed is followed whatever its payment method says ---------------


def test_an_invoiced_order_paid_otherwise_later_and_then_cancelled_is_credited(kit, monkeypatch):
    replay(kit, "payment-method-changed-then-cancelled")
    status, operations, refusals = ledger_view(kit, "35")
    assert status == "credited"  # the invoice does not stay open with dunning going on
    assert operations == [("placement", "succeeded", False), ("activation", "succeeded", False),
                          ("full_credit", "succeeded", True)]
    # the change of method is told once (two deliveries say "bacs"), before the credit
    assert refusals == [
        "the shop's order now reads \"not paid by invoice (payment method 'bacs')\", but the "
        "kit placed it by invoice and keeps following it: its invoice stays open until the "
        "order is cancelled or refunded in the shop, and those changes are still passed on"]
    assert writeback_events(kit) == ["authorised", "activated", "refused", "credited"]
    with session_scope(kit.engine) as session:
        assert "ignored" not in session.scalars(select(Delivery.status)).all()
    shown = orders_show(kit, monkeypatch, "35")
    assert "not passed on: the shop's order now reads \"not paid by invoice (payment method " \
           "'bacs')\"" in shown
    data = json.loads(orders_show(kit, monkeypatch, "35", "--json"))
    assert [r["reason"].split(":")[0] for r in data["refusals"]] == ["followed"]


def test_an_order_the_kit_never_placed_stays_ignored_when_paid_otherwise(kit):
    rec = recording("payment-method-changed-then-cancelled")
    client = connect(kit, rec["secret"])
    # only the deliveries after the change of method: the kit never saw the order by invoice
    assert post(client, rec["steps"][2:]) == [200, 200]
    with session_scope(kit.engine) as session:
        rows = session.execute(select(Delivery.status, Delivery.body, Delivery.error)).all()
    assert rows == [("ignored", b"", "not paid by invoice (payment method 'bacs')")] * 2


def test_a_delivery_of_a_followed_order_is_accepted_and_stored(kit):
    rec = recording("payment-method-changed-then-cancelled")
    client = connect(kit, rec["secret"])
    assert post(client, rec["steps"][:2]) == [202, 200, 202]  # order.updated twice: duplicate
    assert post(client, rec["steps"][2:]) == [202, 202]


# -- 2. a placed order set to failed is cancelled ----------------------------------------------


def test_a_placed_order_set_to_failed_voids_its_authorisation(kit):
    replay(kit, "placed-order-failed")
    status, operations, refusals = ledger_view(kit, "37")
    assert status == "voided"  # the buyer's limit is free again at once, not in two months
    assert operations == [("placement", "succeeded", False), ("full_credit", "succeeded", False)]
    assert refusals == []  # the void's own note tells the merchant
    assert writeback_events(kit) == ["authorised", "credited"]


def test_an_order_first_seen_as_failed_is_ignored(kit):
    rec = recording("placed-order-failed")
    client = connect(kit, rec["secret"])
    assert post(client, rec["steps"][1:]) == [200]
    with session_scope(kit.engine) as session:
        assert session.scalars(select(Delivery.error)).one() == (
            "status 'failed' is not placed (a placed order that fails is cancelled)")


# -- 5. a REST URL over plain http ---------------------------------------------------------


HTTP_401 = recording("rest-basic-auth-over-http")["rest"][
    "GET /wc/v3/orders/52 (basic auth, http)"]


def settings_of(kit) -> dict:
    with session_scope(kit.engine) as session:
        return dict(Ledger(session).connection(SHOP).platform_settings)


def test_a_rest_url_over_http_is_refused_where_it_is_configured(kit, monkeypatch):
    connect(kit, "s")
    before = settings_of(kit)
    output = cli(kit, monkeypatch, "shops", "configure", SHOP, "--rest-url",
                 "http://127.0.0.1:8080", "--consumer-key", "ck_1", "--consumer-secret", "cs_1",
                 code=2)
    assert "--rest-url http://127.0.0.1:8080: WooCommerce accepts REST API keys only over " \
           "HTTPS" in output and "https:// address" in output
    assert settings_of(kit) == before  # nothing stored
    added = cli(kit, monkeypatch, "shops", "add", "woocommerce", "other", "--merchant", "3333",
                "--rest-url", "http://shop.example", "--consumer-key", "ck_1",
                "--consumer-secret", "cs_1", code=2)
    assert "only over HTTPS" in added
    cli(kit, monkeypatch, "shops", "configure", SHOP, "--rest-url", "https://shop.example",
        "--consumer-key", "ck_1", "--consumer-secret", "cs_1")
    assert settings_of(kit)["rest_url"] == "https://shop.example"


def test_a_write_back_refused_over_http_says_why(kit):
    rec = recording("placed-order-failed")
    http = {"rest_url": "http://127.0.0.1:8080", "consumer_key": "ck_1",
            "consumer_secret": "cs_1"}  # stored before the check existed
    client = connect(kit, rec["secret"], http)
    with responses.RequestsMock() as api:
        api.put("http://127.0.0.1:8080/wp-json/wc/v3/orders/37", status=HTTP_401["status"],
                json=HTTP_401["body"])
        post(client, rec["steps"][:1])
        send_due(kit.engine, kit.hooks)
    with session_scope(kit.engine) as session:
        record = session.scalars(select(WriteBackRecord)).one()
    assert record.status == "dead"
    assert record.error.startswith("WooCommerce answered 401 because the REST URL "
                                   "http://127.0.0.1:8080 is not https: WooCommerce accepts "
                                   "REST API keys only over HTTPS")
    assert "refused the REST API key" not in record.error


# -- 4. the shop's webhooks: disabled after failed deliveries, or missing -------------------


def recorded_webhooks(url: str | None = None) -> list[dict]:
    """``GET /wc/v3/webhooks`` after the 7th failed delivery, pointed at ``url``."""
    found = recording("webhook-disabled-after-failures")["rest"]["GET /wc/v3/webhooks"]
    return [{**hook, "delivery_url": url or hook["delivery_url"]} for hook in found]


WEBHOOKS = f"{REST_URL}/wp-json/wc/v3/webhooks"
OUR_URL = "http://127.0.0.1:8000/webhooks/woocommerce/rec"  # the kit's default public_url


def test_shops_sync_and_show_say_that_woocommerce_disabled_a_webhook(kit, monkeypatch):
    rec = recording("webhook-disabled-after-failures")
    client = connect(kit, rec["secret"], REST)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        post(client, rec["steps"][:1])
        api.get(f"{REST_URL}/wp-json/wc/v3/orders", json=[])
        api.get(WEBHOOKS, json=recorded_webhooks(OUR_URL))
        synced = cli(kit, monkeypatch, "shops", "sync", SHOP, code=1).splitlines()
        shown = cli(kit, monkeypatch, "shops", "show", SHOP).splitlines()
    for lines in (synced, shown):
        assert "  shop checks: webhook order.created active, webhook order.updated disabled" \
            in lines
        [fix] = [line for line in lines if line.startswith("  fix ")]
        assert fix.startswith(
            "  fix webhook order.updated (disabled): set webhook 2 \"invoicekit order.updated\" "
            "to Active in WooCommerce → Settings → Advanced → Webhooks. WooCommerce disables "
            "a webhook after its deliveries failed more than 5 times in a row")
        assert "keeps its failure count until a delivery succeeds" in fix
        assert f"check first that {OUR_URL} answers" in fix


def test_a_webhook_posting_elsewhere_counts_as_missing(kit, monkeypatch):
    connect(kit, "s", REST)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.get(WEBHOOKS, json=recorded_webhooks())  # recorded: http://127.0.0.1:8099/…
        shown = cli(kit, monkeypatch, "shops", "show", SHOP).splitlines()
    assert "  shop checks: webhook order.created missing, webhook order.updated missing" \
        in shown
    assert ("  fix webhook order.created (missing): add a webhook in WooCommerce → Settings → "
            f"Advanced → Webhooks: status Active, topic Order created, delivery URL {OUR_URL}, "
            "the connection's secret, API version WP REST API Integration v3; webhook 1 of "
            "this topic posts to http://127.0.0.1:8099/webhooks/woocommerce instead") in shown


def test_the_worker_poll_warns_of_a_disabled_webhook(kit, caplog):
    connect(kit, "s", REST)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.get(f"{REST_URL}/wp-json/wc/v3/orders", json=[])
        api.get(WEBHOOKS, json=recorded_webhooks(OUR_URL))
        sync_all(kit.engine, kit.hooks, kit.queue.enqueue, public_url=kit.settings.public_url)
    assert "shop rec: webhook order.updated is disabled: set webhook 2" in caplog.text


def test_a_shop_without_rest_key_says_its_webhooks_are_not_checked(kit, monkeypatch):
    connect(kit, "s")
    shown = cli(kit, monkeypatch, "shops", "show", SHOP).splitlines()
    assert ("  shop checks: not checked: the WooCommerce connection has no REST credentials, "
            "so its webhooks cannot be read") in shown


# -- 6. drift against the ledger: a refund deleted in the shop ------------------------------


def test_a_refund_deleted_in_the_shop_is_told_and_shown_with_the_order(kit, monkeypatch):
    replay(kit, "refund-deleted")  # the deletion sends nothing; the next "Update" lacks it
    status, operations, refusals = ledger_view(kit, "39")
    assert status == "active" and operations[-1] == ("partial_credit", "succeeded", True)
    assert refusals == [  # the credit note stays: told once, with what to do
        "refund 40 of 9.98 EUR was deleted in the shop after the kit had credited it (credit "
        "note CN-000001); a credit is not taken back, so the invoice stays reduced by it. If "
        "the refund was deleted by mistake, do not refund it again in the shop (that would "
        "credit it twice); if the buyer owes it after all, invoice it anew. Then acknowledge "
        "the difference: invoicekit shops drift ack rec 39"]
    assert writeback_events(kit)[-1] == "refused"
    shown = orders_show(kit, monkeypatch, "39")
    assert "not passed on: refund 40 of 9.98 EUR was deleted in the shop" in shown
    assert ": refund deleted (shop no refund 40, kit refund 40 credited 9.98 EUR, credit note " \
           "CN-000001)" in shown
    data = json.loads(orders_show(kit, monkeypatch, "39", "--json"))
    assert [(d["kind"], d["shop"], d["acknowledged_at"]) for d in data["drift"]] == [
        ("refund_deleted", "no refund 40", None)]


ORDERS = f"{REST_URL}/wp-json/wc/v3/orders"
DRIFT_LINE = ("  drift 39 (39): refund deleted (shop no refund 40, kit refund 40 credited "
              "9.98 EUR, credit note CN-000001)")


def test_every_poll_reports_the_deleted_refund_until_it_is_acknowledged(kit, monkeypatch):
    rec = recording("refund-deleted")
    order = rec["rest"]["GET /wc/v3/orders/39"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        serve_rest(api, rec)
        api.get(ORDERS, json=[order])  # the first poll reads the order modified
        api.get(ORDERS, json=[])  # later ones read nothing modified: the order is read again
        api.get(WEBHOOKS, json=recorded_webhooks(OUR_URL))  # order.updated disabled: exit 1
        replay(kit, "refund-deleted", REST)
        for _ in range(2):
            lines = cli(kit, monkeypatch, "shops", "sync", SHOP, code=1).splitlines()
            assert DRIFT_LINE in lines
            assert lines[-1] == (
                "  1 difference(s) still open after processing: invoicekit shops drift list "
                "rec; acknowledge one with invoicekit shops drift ack rec ORDER")
        assert any(c.request.url == f"{ORDERS}/39" for c in api.calls)  # read again
        preview = cli(kit, monkeypatch, "orders", "preview", SHOP, "39").splitlines()
        assert preview[-2:] == [
            "  drift: refund deleted (shop no refund 40, kit refund 40 credited 9.98 EUR, "
            "credit note CN-000001)", "  would run: nothing"]
        listed = cli(kit, monkeypatch, "shops", "drift", "list", SHOP)
        assert listed.startswith("39 (39): refund deleted (shop no refund 40, kit refund 40 "
                                 "credited 9.98 EUR, credit note CN-000001) since ")
        assert "seen 4 time(s)" in listed  # the delivery, then a poll each, then the recheck
        assert cli(kit, monkeypatch, "shops", "drift", "ack", SHOP, "39").strip() == (
            "order rec/39: acknowledged refund deleted (shop no refund 40, kit refund 40 "
            "credited 9.98 EUR, credit note CN-000001)")
        lines = cli(kit, monkeypatch, "shops", "sync", SHOP, code=1).splitlines()
    assert DRIFT_LINE not in lines
    assert cli(kit, monkeypatch, "shops", "drift", "list", SHOP).strip() == (
        "rec: the ledger agrees with the shop (no open drift)")
    assert "acknowledged" in cli(kit, monkeypatch, "shops", "drift", "list", SHOP, "--all")
    assert "acknowledged" in orders_show(kit, monkeypatch, "39")
    missing = cli(kit, monkeypatch, "shops", "drift", "ack", SHOP, "39", code=1)
    assert "order rec/39 has no open drift to acknowledge" in missing


# -- 3. a declined order the shop completes anyway -------------------------------------------


def test_a_declined_order_completed_in_the_shop_gets_a_note_and_a_drift_entry(kit,
                                                                              monkeypatch):
    rec = recording("on-hold-then-completed")
    client = connect(kit, rec["secret"])
    with session_scope(kit.engine) as session:
        Ledger(session).configure_merchant(3333, kyc_verified=False)  # placement declined
    post(client, rec["steps"])
    status, operations, refusals = ledger_view(kit, "31")
    assert (status, operations) == ("declined", [("placement", "succeeded", False)])
    assert refusals == [
        "the order was set to completed in the shop although invoice payment was declined "
        "(merchant_not_verified): no invoice is issued and the kit collects nothing for it. "
        "Collect the payment another way (or cancel the order), then acknowledge the "
        "difference: invoicekit shops drift ack rec 31"]
    assert writeback_events(kit) == ["declined", "refused"]
    shown = orders_show(kit, monkeypatch, "31")
    assert "not passed on: the order was set to completed in the shop although invoice " \
           "payment was declined" in shown
    assert ": status differs (shop completed, kit declined (merchant_not_verified))" in shown


# what stays different from the ledger after each recording, and nothing else
LASTING = {
    "fee-refunded": ["total_differs"],  # a fee added after placement: an increase refused
    "line-added-after-placement": ["status_differs"],  # declined (too small), then completed
    "one-of-two-coupons-removed": ["total_differs"],  # a coupon removed: an increase refused
    "refund-deleted": ["refund_deleted"],
}
REPLAYED = sorted(p.stem for p in RECORDINGS_DIR.glob("*.json")
                  if p.stem not in {"webhook-ping", "rest-basic-auth-over-http"})  # no orders


@pytest.mark.parametrize("name", REPLAYED)
def test_after_each_recording_only_what_the_kit_cannot_follow_is_drift(kit, name):
    replay(kit, name)
    with session_scope(kit.engine) as session:
        drift = list(session.scalars(select(OrderDrift.kind).where(
            OrderDrift.resolved_at.is_(None))))
    assert drift == LASTING.get(name, [])
