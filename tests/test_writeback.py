"""Write-back to the shop: the exact WooCommerce REST requests for each outcome, the outbox
under a shop API outage, uncertain outcomes, the generic platform's signed webhook, and
the payment that settles an invoice."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from unittest.mock import ANY

import pytest
import requests
import responses
from sqlalchemy import event, select, update

from conftest import WOO_SECRET
from core import hookimpl
from core.context import ProviderInfo, WriteBack
from core.errors import PermanentError
from core.ledger.db import session_scope
from core.ledger.models import Invoice, ShopConnection, WriteBackRecord
from core.ledger.store import Ledger
from core.operations import Authorisation, OperationKind
from core.receivables.book import record_payment
from core.retry import Backoff
from core.writeback.outbox import retry_writebacks, send_due
from plugins.generic.plugin import write_back as generic_write_back
from plugins.generic.signature import new_secret, verify
from woo import SHOP_URL, body, headers, order, with_refund

URL = "/webhooks/woocommerce/acme"
API = f"{SHOP_URL}/wp-json/wc/v3"
ORDER = f"{API}/orders/4711"
NOTES = f"{ORDER}/notes"
COMPLETED = order(status="completed", modified="2026-11-03T14:00:00")


def post(client, data, topic="order.updated"):
    raw = body(data)
    response = client.post(URL, data=raw, headers=headers(raw, WOO_SECRET, topic))
    assert response.status_code == 202, response.get_data(as_text=True)


def writes(api):
    """The kit's writes to the shop, in order: (method, path, JSON body)."""
    return [(c.request.method, c.request.url.removeprefix(API), json.loads(c.request.body))
            for c in api.calls if c.request.method != "GET"]


def outbox(kit):
    with session_scope(kit.engine) as session:
        return [(r.event, r.status, r.attempts)
                for r in session.scalars(select(WriteBackRecord).order_by(WriteBackRecord.id))]


def marker(kit, event):
    with session_scope(kit.engine) as session:
        key = session.scalars(select(WriteBackRecord.idempotency_key)
                              .where(WriteBackRecord.event == event)).one()
    return f"[invoicekit {key[:12]}]"


def meta(**values):
    return {"meta_data": [{"key": f"invoicekit_{k}", "value": v} for k, v in values.items()]}


def note(text):
    return {"note": text, "customer_note": False}


def due_date(kit):
    with session_scope(kit.engine) as session:
        return session.scalars(select(Invoice.due_on)).first().isoformat()


def make_due(kit):
    """Let the time of every waiting write-back's next attempt come."""
    with session_scope(kit.engine) as session:
        session.execute(update(WriteBackRecord).values(
            next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))


@pytest.fixture
def shop_api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.put(ORDER, json={"id": 4711})
        api.post(NOTES, status=201, json={"id": 1})
        api.get(f"{ORDER}/refunds", json=[{"id": 5001, "amount": "83.30", "reason": "",
                                           "line_items": []}])
        yield api


def test_authorise_activate_and_credit_write_meta_and_notes(client, kit, shop_api):
    post(client, order(status="processing"), "order.created")
    post(client, COMPLETED)
    post(client, with_refund(COMPLETED, 5001, "83.30", "2026-11-05T08:30:00"))
    due, bank = due_date(kit), dict(iban="DE25100200304000000000")
    invoice = dict(provider="local", provider_order_id="BP4711/3333",
                   invoice_ids="INV-000001", payment_reference="BP4711/3333", **bank,
                   account_holder="ACME Receivables", due_date=due)
    assert writes(shop_api) == [
        # where the buyer will pay is known from the placement on, for the shop's invoice
        ("PUT", "/orders/4711", meta(provider="local", provider_order_id="BP4711/3333",
                                     payment_reference="BP4711/3333", **bank,
                                     open_amount="549.73", currency="EUR",
                                     state="authorised")),
        ("POST", "/orders/4711/notes", note(
            "Invoice payment of 549.73 EUR authorised by local (reference BP4711/3333). "
            + marker(kit, "authorised"))),
        ("PUT", "/orders/4711", meta(**invoice, invoiced_amount="549.73",
                                     credited_amount="0.00", paid_amount="0.00",
                                     charges_amount="0.00", open_amount="549.73",
                                     currency="EUR", state="active", girocode_url=ANY)),
        ("POST", "/orders/4711/notes", note(
            "Invoice INV-000001 issued for 549.73 EUR. The buyer pays 549.73 EUR to "
            f"DE25100200304000000000, reference BP4711/3333, by {due}. "
            + marker(kit, "activated"))),
        ("PUT", "/orders/4711", meta(**invoice, invoiced_amount="549.73",
                                     credited_amount="83.30", paid_amount="0.00",
                                     charges_amount="0.00", open_amount="466.43",
                                     currency="EUR", state="active", girocode_url=ANY)),
        ("POST", "/orders/4711/notes", note(
            "Partial credit of 83.30 EUR: credit note CN-000001. " + marker(kit, "credited"))),
    ]
    assert outbox(kit) == [("authorised", "done", 1), ("activated", "done", 1),
                           ("credited", "done", 1)]


@pytest.mark.parametrize(("declined_status", "status"), [(None, "on-hold"), ("", None),
                                                        ("failed", "failed")])
def test_a_declined_order_is_put_on_hold_with_the_reason(client, kit, shop_api,
                                                         declined_status, status):
    if declined_status is not None:
        with session_scope(kit.engine) as session:
            connection = Ledger(session).connection("acme")
            connection.platform_settings = {**connection.platform_settings,
                                            "declined_status": declined_status}
    abroad = order(status="processing")
    abroad["billing"]["country"] = "US"
    post(client, abroad, "order.created")
    expected = meta(provider="local", open_amount="0.00", currency="EUR", state="declined",
                    decline_reason="country_not_supported")
    if status:
        expected["status"] = status
    assert writes(shop_api) == [
        ("PUT", "/orders/4711", expected),
        ("POST", "/orders/4711/notes", note(
            "Invoice payment declined by local (country_not_supported). Ask the buyer to pay "
            "another way. " + marker(kit, "declined"))),
    ]


class Broken:
    """A provider ``broken`` that authorises, but whose activation always fails."""

    @hookimpl
    def declare_provider(self):
        return ProviderInfo("broken", frozenset(OperationKind), remote=False)

    @hookimpl
    def place_order(self, order):
        if order.provider == "broken":
            return Authorisation(provider_reference="B-1")

    @hookimpl
    def activate_order(self, order):
        if order.provider == "broken":
            raise PermanentError("the merchant's contract at broken has ended")


def test_a_dead_operation_writes_a_note_saying_what_to_do(client, kit, shop_api):
    kit.hooks.pm.register(Broken())
    with session_scope(kit.engine) as session:
        session.execute(update(ShopConnection).values(provider="broken"))
    post(client, order(status="processing"), "order.created")
    post(client, COMPLETED)
    assert writes(shop_api)[2:] == [
        ("PUT", "/orders/4711", meta(provider="broken", provider_order_id="B-1",
                                     open_amount="549.73", currency="EUR",
                                     state="authorised")),
        ("POST", "/orders/4711/notes", note(
            "Activation of 549.73 EUR failed at broken: the merchant's contract at broken has "
            "ended. Nothing was changed at broken. Remove the cause, then retry with: "
            "invoicekit orders replay acme 4711 " + marker(kit, "failed"))),
    ]


def test_a_shop_api_outage_delays_but_never_loses_a_write_back(client, kit):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.put(ORDER, status=503, headers={"Retry-After": "120"})
        post(client, order(status="processing"), "order.created")
        post(client, COMPLETED)
        # the operations ran all the same; the activation's write-back waits behind the first
        with session_scope(kit.engine) as session:
            assert Ledger(session).find_order("acme", "4711").status == "active"
            waiting = session.scalars(select(WriteBackRecord)
                                      .where(WriteBackRecord.event == "authorised")).one()
            assert waiting.next_attempt_at >= datetime.now(UTC) + timedelta(seconds=110)
            assert waiting.error == "WooCommerce REST API answered 503"
        assert outbox(kit) == [("authorised", "retrying", 1), ("activated", "pending", 0)]
        assert send_due(kit.engine, kit.hooks).done == 0  # not before its time
        assert len(api.calls) == 1
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:  # the shop is back
        api.put(ORDER, json={"id": 4711})
        api.post(NOTES, status=201, json={"id": 1})
        make_due(kit)
        sent = send_due(kit.engine, kit.hooks, count_waiting=True)
        assert (sent.done, sent.waiting) == (2, 0)
        notes = [w[2]["note"] for w in writes(api) if w[0] == "POST"]
        assert notes[0].startswith("Invoice payment of") and notes[1].startswith("Invoice INV")
    assert outbox(kit) == [("authorised", "done", 2), ("activated", "done", 1)]


def test_a_round_is_claimed_in_one_transaction_and_recorded_in_one(client, kit):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.put(ORDER, status=503)  # the shop is down while three orders come in
        for order_id in (4711, 4712, 4713):
            api.put(f"{API}/orders/{order_id}", status=503)
            post(client, order(order_id), "order.created")
    assert [status for _, status, _ in outbox(kit)] == ["retrying"] * 3
    make_due(kit)
    transactions, writes_to_outbox = [0], []  # the statements that change write-backs

    def begin(connection):
        transactions[0] += 1

    def count(connection, cursor, statement, *args):
        if statement.startswith("UPDATE writebacks"):
            writes_to_outbox.append(transactions[0])  # in which transaction

    event.listen(kit.engine, "begin", begin)
    event.listen(kit.engine, "before_cursor_execute", count)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        for order_id in (4711, 4713):  # back, but one order's update still fails
            api.put(f"{API}/orders/{order_id}", json={"id": order_id})
            api.post(f"{API}/orders/{order_id}/notes", status=201, json={"id": 1})
        api.put(f"{API}/orders/4712", status=503, headers={"Retry-After": "60"})
        sent = send_due(kit.engine, kit.hooks)
    event.remove(kit.engine, "before_cursor_execute", count)
    event.remove(kit.engine, "begin", begin)
    assert (sent.done, sent.failed, sent.dead) == (2, 1, 0)
    assert [(status, attempts) for _, status, attempts in outbox(kit)] == [
        ("done", 2), ("retrying", 2), ("done", 2)]
    # three claims in one transaction, three outcomes recorded in another
    assert len(writes_to_outbox) == 3 + 2  # the two done ones in one statement
    assert len(set(writes_to_outbox)) == 2


def test_a_write_back_that_keeps_failing_is_dead_until_retried(client, kit):
    kit.queue.backoff = Backoff(base=0, jitter=False, max_attempts=3)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.put(ORDER, status=500)
        post(client, order(status="processing"), "order.created")
    with session_scope(kit.engine) as session:
        dead = session.scalars(select(WriteBackRecord)).one()
        assert (dead.status, dead.attempts, dead.uncertain, dead.error) == (
            "dead", 3, True, "gave up after 3 attempts: WooCommerce REST API answered 500")
    with responses.RequestsMock() as api:
        api.put(ORDER, json={"id": 4711})
        api.get(NOTES, json=[])  # the outcome was unknown: the notes are read first
        api.post(NOTES, status=201, json={"id": 1})
        assert retry_writebacks(kit.engine, shop="acme") == 1
        assert send_due(kit.engine, kit.hooks).done == 1
    assert outbox(kit) == [("authorised", "done", 1)]


def test_a_note_whose_answer_was_lost_is_not_written_twice(client, kit):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.put(ORDER, json={"id": 4711})
        api.post(NOTES, body=requests.ReadTimeout("read timed out"))
        post(client, order(status="processing"), "order.created")
    assert outbox(kit) == [("authorised", "retrying", 1)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.put(ORDER, json={"id": 4711})
        api.get(NOTES, json=[{"id": 7, "note": "Invoice payment … " + marker(kit,
                                                                              "authorised")}])
        make_due(kit)
        assert send_due(kit.engine, kit.hooks).done == 1
        assert [c.request.method for c in api.calls] == ["PUT", "GET"]
    with session_scope(kit.engine) as session:
        assert session.scalars(select(WriteBackRecord.result)).one() == \
            "meta written; the note was written before"


def test_a_failing_observer_never_undoes_the_operation(client, kit, shop_api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the write-back")

    monkeypatch.setattr("core.writeback.plugin.operation_notice", broken)
    post(client, order(status="processing"), "order.created")
    with session_scope(kit.engine) as session:
        assert Ledger(session).find_order("acme", "4711").status == "authorised"
    assert outbox(kit) == []


def test_a_payment_in_full_writes_back_paid(client, kit, shop_api):
    post(client, order(status="processing"), "order.created")
    post(client, COMPLETED)
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        record_payment(ledger, ledger.find_order("acme", "4711"), 300_00,
                       booked_on=date(2026, 11, 20), reference="BP4711/3333", source="bank",
                       key="t1")
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        record_payment(ledger, ledger.find_order("acme", "4711"), 249_73,
                       booked_on=date(2026, 11, 21), reference="BP4711/3333", source="bank",
                       key="t2")
    send_due(kit.engine, kit.hooks)
    paid = [w for w in writes(shop_api)[4:]]
    assert [w[2]["meta_data"][-2:] for w in paid if w[0] == "PUT"] == [
        [{"key": "invoicekit_currency", "value": "EUR"},
         {"key": "invoicekit_state", "value": "active"}],
        [{"key": "invoicekit_currency", "value": "EUR"},
         {"key": "invoicekit_state", "value": "paid"}]]
    assert [w[2]["note"].rsplit(" [", 1)[0] for w in paid if w[0] == "POST"] == [
        "Payment of 300.00 EUR received on 2026-11-20; 249.73 EUR still open.",
        "Payment of 249.73 EUR received on 2026-11-21; paid in full."]
    assert {"key": "invoicekit_open_amount", "value": "0.00"} in paid[-2][2]["meta_data"]


def test_the_generic_platform_writes_back_a_signed_standard_webhook():
    secret = new_secret()
    writeback = WriteBack(
        id=1, idempotency_key="9f" * 32, event="activated", shop="custom",
        shop_order_id="A-17", order_number="17", note="Invoice INV-000001 issued.",
        values={"provider": "local", "open_amount": "119.00", "state": "active"},
        occurred_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
    settings = {"writeback_url": "https://erp.example/invoicekit", "writeback_secret": secret}
    with responses.RequestsMock() as api:
        api.post("https://erp.example/invoicekit", status=204)
        assert generic_write_back(platform="generic", writeback=writeback,
                                  settings=settings) == \
            f"webhook msg_{'9f' * 16} delivered (204)"
        sent = api.calls[0].request
    verify(sent.body, sent.headers, [secret])  # the shop verifies it as any Standard Webhook
    assert sent.headers["webhook-id"] == f"msg_{'9f' * 16}"
    assert json.loads(sent.body) == {
        "type": "invoice.activated", "timestamp": "2026-11-23T09:30:00+00:00",
        "data": {"order_id": "A-17", "order_number": "17", "note": "Invoice INV-000001 issued.",
                 "provider": "local", "open_amount": "119.00", "state": "active"}}
    assert generic_write_back(platform="generic", writeback=writeback, settings={}) == \
        "skipped: no write-back URL"


def test_write_back_settings_on_the_command_line(kit, woo_shop, monkeypatch, tmp_path,
                                                 database_url):
    from click.testing import CliRunner

    from webhooks.cli import main

    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")

    def run(*args):
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    run("shops", "configure", "acme", "--declined-status", "failed", "--transition",
        "paid=paid", "--transition", "declined=cancel")
    run("shops", "configure", "acme", "--transition", "declined=")
    run("shops", "add", "generic", "custom", "--merchant", "3333")
    out = run("shops", "configure", "custom", "--writeback-url", "https://erp.example/ik")
    secret = out.split("signed with ")[1].split()[0]
    assert secret.startswith("whsec_")
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        acme, custom = ledger.connection("acme"), ledger.connection("custom")
        assert (acme.platform_settings["declined_status"],
                acme.platform_settings["transitions"]) == ("failed", {"paid": "paid"})
        assert custom.platform_settings["writeback_secret"] == secret
    assert secret not in run("shops", "show", "custom")
    run("shops", "configure", "custom", "--writeback-url", "")
    with session_scope(kit.engine) as session:
        assert "writeback_url" not in Ledger(session).connection("custom").platform_settings
