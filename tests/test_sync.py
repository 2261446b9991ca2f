"""The reconciliation poll and the dry run: a WooCommerce change whose webhook was lost is
found by the poll, its operations run once even when the webhook arrives after all, and the
drift is reported; ``orders preview`` shows what an order would trigger and runs nothing."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import func, select

from conftest import WOO_SECRET
from core.ledger.db import session_scope
from core.ledger.models import Delivery, OperationRecord, ShopConnection, ShopSync
from core.ledger.store import Ledger
from core.sync.poll import sync_all, sync_shop
from webhooks.cli import main
from woo import SHOP_URL, body, headers, order

URL = "/webhooks/woocommerce/acme"
ORDERS = f"{SHOP_URL}/wp-json/wc/v3/orders"
SINCE = datetime(2026, 11, 3, 13, 0, tzinfo=UTC)
COMPLETED = order(status="completed", modified="2026-11-03T14:00:00")
NEW = order(4712, status="processing", modified="2026-11-03T14:10:00")
BY_TRANSFER = order(4713, status="processing", modified="2026-11-03T14:20:00",
                    payment_method="bacs")


def post(client, data, topic="order.updated"):
    raw = body(data)
    assert client.post(URL, data=raw, headers=headers(raw, WOO_SECRET, topic)).status_code \
        == 202


def operations(kit, order_id):
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        return [(r.kind, r.status) for r in
                ledger.operations_of(ledger.find_order("acme", order_id))]


@pytest.fixture
def shop_api():
    """The shop's REST API: the poll's order list, and room for write-backs."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.get(ORDERS, json=[COMPLETED, NEW, BY_TRANSFER])
        api.get(f"{SHOP_URL}/wp-json/wc/v3/webhooks", json=[
            {"id": n, "name": topic, "status": "active", "topic": topic,
             "delivery_url": "http://127.0.0.1:8000/webhooks/woocommerce/acme"}
            for n, topic in ((1, "order.created"), (2, "order.updated"))])
        api.put(f"{ORDERS}/4711", json={})
        api.put(f"{ORDERS}/4712", json={})
        api.post(f"{ORDERS}/4711/notes", status=201, json={})
        api.post(f"{ORDERS}/4712/notes", status=201, json={})
        yield api


def test_the_poll_finds_a_change_whose_webhook_was_lost_and_runs_it_once(client, kit,
                                                                         shop_api):
    post(client, order(status="processing"), "order.created")
    # the receiver was down: the shop completed 4711 and took order 4712, webhooks lost
    report = sync_shop(kit.engine, kit.hooks, "acme", since=SINCE, feed=kit.queue.enqueue)
    listing = [c.request for c in shop_api.calls if c.request.method == "GET"]
    assert listing[0].params == {"modified_after": "2026-11-03T13:00:00",
                                 "dates_are_gmt": "true", "orderby": "id", "order": "asc",
                                 "per_page": "100", "page": "1"}
    assert (report.read, report.ignored, len(report.fed)) == (3, 1, 2)
    assert report.drift == [
        {"order_id": "4711", "order_number": "4711", "drift": "status_differs",
         "shop": "completed", "kit": "authorised"},
        {"order_id": "4712", "order_number": "4712", "drift": "never_seen",
         "shop": "549.73 EUR"}]
    assert operations(kit, "4711") == [("placement", "succeeded"), ("activation", "succeeded")]
    assert operations(kit, "4712") == [("placement", "succeeded")]

    post(client, COMPLETED)  # the lost webhook arrives after all: nothing runs twice
    assert operations(kit, "4711") == [("placement", "succeeded"), ("activation", "succeeded")]

    again = sync_shop(kit.engine, kit.hooks, "acme", feed=kit.queue.enqueue)
    assert (again.read, again.fed, again.drift) == (3, [], [])
    with session_scope(kit.engine) as session:
        assert session.scalar(select(func.count()).select_from(OperationRecord)) == 3
        assert session.scalars(select(Delivery.status)).all() == ["done"] * 4
        polls = session.scalars(select(ShopSync).order_by(ShopSync.id)).all()
        assert [(p.orders_read, p.fed, len(p.drift), p.error) for p in polls] == [
            (3, 2, 2, None), (3, 0, 0, None)]
        # the second poll starts where the first ended, less the overlap
        assert (polls[0].until - again.since).total_seconds() == 300


def test_a_shop_that_cannot_be_read_is_reported_and_the_poll_recorded(kit, woo_shop):
    with responses.RequestsMock() as api:
        api.get(ORDERS, status=401)
        with pytest.raises(Exception, match="refused the REST API key"):
            sync_shop(kit.engine, kit.hooks, "acme", since=SINCE)
    with session_scope(kit.engine) as session:
        poll = session.scalars(select(ShopSync)).one()
        assert poll.error.startswith("WooCommerce refused the REST API key (401)")
        assert poll.finished_at is not None


@pytest.fixture
def cli(monkeypatch, database_url, tmp_path, kit):
    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")

    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args])

    return run


def test_shops_sync_and_orders_preview_on_the_command_line(client, kit, shop_api, cli):
    post(client, order(status="processing"), "order.created")
    shop_api.get(f"{ORDERS}/4711", json=COMPLETED)
    preview = cli("orders", "preview", "acme", "4711")
    assert preview.exit_code == 0, preview.output
    assert preview.stdout.splitlines() == [
        "order 4711 (acme/4711): shop status completed, total 549.73 EUR; the kit has it as "
        "authorised",
        "  would run: activation 549.73 EUR"]
    assert operations(kit, "4711") == [("placement", "succeeded")]  # nothing ran

    result = cli("shops", "sync", "acme", "--since", "2026-11-03T13:00")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("acme: 3 order(s) modified since 2026-11-03 13:00 UTC read, 1 not by "
                        "invoice, 2 new to the kit")
    assert lines[1:3] == [
        "  drift 4711 (4711): status differs (shop completed, kit authorised)",
        "  drift 4712 (4712): never seen (shop 549.73 EUR)"]
    assert [line.split(":")[1] for line in lines[3:5]] == [" done", " done"]
    assert lines[5:] == ["  shop checks: webhook order.created active, webhook order.updated "
                         "active"]
    assert operations(kit, "4711") == [("placement", "succeeded"), ("activation", "succeeded")]

    assert cli("orders", "preview", "acme", "4711").output.splitlines()[-1] == \
        "  would run: nothing (the ledger agrees with the shop)"
    transfer = copy.deepcopy(BY_TRANSFER)
    shop_api.get(f"{ORDERS}/4713", json=transfer)
    assert cli("orders", "preview", "acme", "4713").output.strip() == (
        "order acme/4713: nothing to do (not paid by invoice (payment method 'bacs'))")
    shop_api.get(f"{ORDERS}/999", status=404, json={"code": "woocommerce_rest_shop_order_"
                                                             "invalid_id"})
    missing = cli("orders", "preview", "acme", "999")
    assert missing.exit_code == 1 and "404" in missing.output


def test_the_worker_polls_every_shop_that_can_be_read(kit, woo_shop, shop_api):
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(id=4444, name="Other GmbH", country="DE", account_holder="Other",
                            bank_code="10020030", account_first=4_100_000_000,
                            account_last=4_100_009_999, kyc_verified=True)
        ledger.add_connection(name="no-api", merchant_id=4444, platform="woocommerce",
                              status_map={"completed": "activate"}, secrets=["s"])
    fed = []
    sync_all(kit.engine, kit.hooks, fed.append)
    with session_scope(kit.engine) as session:
        polled = session.execute(select(ShopConnection.name, ShopSync.fed).join(
            ShopSync, ShopSync.connection_id == ShopConnection.id)).all()
    assert polled == [("acme", 2)] and len(fed) == 2  # the shop without REST key is skipped
    due = {t.name for t in kit.queue.huey.read_periodic(datetime(2026, 11, 23, 10, 15))}
    assert {"sync_shops", "send_due_writebacks"} <= due  # every 15 minutes, every minute
    assert "sync_shops" not in {t.name for t in kit.queue.huey.read_periodic(
        datetime(2026, 11, 23, 10, 16))}


def test_the_poll_interval_must_divide_an_hour(tmp_path, database_url):
    from core.config import Settings
    from core.errors import ConfigurationError
    from core.kit import Kit

    with pytest.raises(ConfigurationError, match="sync_every_minutes must divide 60"):
        Kit.create(Settings(home=tmp_path, database_url=database_url, queue_url="memory://",
                            sync_every_minutes=7))
