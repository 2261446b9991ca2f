"""What Billie's webhooks mean for an order (core.provider_events, core.payments.remote):
payments and pay-outs mark the invoice paid, a cancellation after shipment credits what
Billie cancelled, a dispute is marked and told, clawback / dca / invoice_late are told, and
the write-back names Billie's invoice number, due date and pay-to account. Bodies follow
the examples of https://docs.billie.io/reference/webhooks (tests/fixtures/billie/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from sqlalchemy import select
from test_billie import BASE, INVOICE_UUID, ORDER_UUID, SETTINGS, as_json, billie_order

from conftest import MERCHANT_ID, WOO_SECRET
from core.ledger.db import session_scope
from core.ledger.models import WriteBackRecord
from core.ledger.store import Ledger
from core.payments.remote import paid_of, remote_balance, remote_values
from core.provider_events import cancelled_invoices, disputed, event_key, record_provider_event
from plugins.billie import client as billie_client
from plugins.billie import webhook
from woo import body, headers, order

FIXTURES = Path(__file__).parent / "fixtures" / "billie"
HOOK_KEY = "billie-hook-key-000000000001"
INVOICE = {"uuid": INVOICE_UUID, "invoice_number": "acme-4711-1", "state": "new",
           "amount": {"net": "467.00", "gross": "549.73", "tax": "82.73"},
           "outstanding_amount": "549.73", "due_date": "2026-12-03"}


@pytest.fixture(autouse=True)
def billie_merchant(kit, woo_shop):
    billie_client.clear_token_cache()
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        ledger.configure_merchant(MERCHANT_ID, provider="billie", provider_settings=SETTINGS)
        ledger.add_connection(name="billie-3333", merchant_id=MERCHANT_ID, platform="billie",
                              secrets=[HOOK_KEY])
    yield
    billie_client.clear_token_cache()


def deliver(client, topic, status):
    raw = body(order(status=status, modified="2026-11-03T14:00:00"
                     if status == "completed" else "2026-11-02T09:15:00"))
    return client.post("/webhooks/woocommerce/acme", data=raw,
                       headers=headers(raw, WOO_SECRET, topic))


def shipped(client, *, details_answer=True):
    """Order 4711 placed at Billie and shipped in full: one invoice of 549.73."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.post(BASE + "oauth/token", json={"expires_in": 28800, "access_token": "eyJ.a"})
        api.add("POST", BASE + "orders", content_type="application/json",
                body=as_json(billie_order(gross="549.73", net="467.00")))
        api.post(BASE + "invoices", status=201, json={"uuid": INVOICE_UUID})
        if details_answer:
            api.add("GET", BASE + f"orders/{ORDER_UUID}", content_type="application/json",
                    body=as_json(billie_order("shipped", gross="549.73", net="467.00",
                                              unshipped="0.00", invoices=[INVOICE])))
        else:
            api.get(BASE + f"orders/{ORDER_UUID}", status=503)
        assert deliver(client, "order.created", "processing").status_code == 202
        assert deliver(client, "order.updated", "completed").status_code == 202
        bodies = [json.loads(c.request.body) for c in api.calls
                  if c.request.method == "POST" and c.request.url.endswith("/orders")]
    assert bodies[0]["external_code"] == "acme-4711"


def event(name: str, **extra) -> bytes:
    return json.dumps({"event": name, "order_id": "acme-4711", "order_uuid": ORDER_UUID,
                       "invoice_uuid": INVOICE_UUID, "created_at": "2026-11-20 10:00:00",
                       **extra}).encode()


def applied(kit, raw: bytes) -> str:
    """The event recorded as the core does: journalled, then given its meaning."""
    (reported,) = webhook.parse(raw, {}).events
    with session_scope(kit.engine) as session:
        return record_provider_event(Ledger(session), kit.hooks, MERCHANT_ID, reported)


def writebacks(kit, kind=None):
    with session_scope(kit.engine) as session:
        rows = session.scalars(select(WriteBackRecord).order_by(WriteBackRecord.id)).all()
        return [(w.event, w.note, dict(w.values)) for w in rows if kind in (None, w.event)]


def balance(kit):
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        return remote_balance(ledger, ledger.find_order("acme", "4711"))


# -- what the merchant sees -----------------------------------------------------------------


def test_activation_write_back_names_invoice_number_due_date_and_pay_to(kit, client):
    shipped(client)
    ((_, note, values),) = writebacks(kit, "activated")
    assert "Invoice acme-4711-1 issued for 549.73 EUR" in note
    assert "DE02100100100000000001 (BIC TESTDEFFXXX), reference acme-4711-1" in note
    assert (values["iban"], values["bic"], values["payment_reference"]) == (
        "DE02100100100000000001", "TESTDEFFXXX", "acme-4711-1")


def test_activation_stands_when_its_details_cannot_be_read(kit, client):
    shipped(client, details_answer=False)
    ((_, note, _),) = writebacks(kit, "activated")
    assert note.startswith("Invoice acme-4711-1 issued for 549.73 EUR.")


# -- payments -------------------------------------------------------------------------------


def test_payments_reported_mark_the_invoice_paid(kit, client):
    shipped(client)
    # Billie's amount is the sum paid so far: 300.00, then 549.73 in all
    assert applied(kit, event("payment", amount="300.00", open_amount="249.73")) == \
        "payment: 300.00 EUR booked as paid"
    assert applied(kit, event("payment", amount="300.00", open_amount="249.73",
                              created_at="2026-11-20 10:00:01")) == \
        "payment: 0.00 EUR booked as paid"  # the same sum again books nothing
    (_, note, values) = writebacks(kit, "paid")[-1]
    assert "Payment of 300.00 EUR reported by billie on 2026-11-20" in note
    assert "249.73 EUR still open" in note
    assert (values["paid_amount"], values["open_amount"], values["state"]) == (
        "300.00", "249.73", "active")
    applied(kit, event("payment", amount="549.73", open_amount="0.00",
                       created_at="2026-11-25 09:00:00"))
    (_, note, values) = writebacks(kit, "paid")[-1]
    assert note.endswith("paid in full.") and values["state"] == "paid"
    assert (values["paid_amount"], values["open_amount"]) == ("549.73", "0.00")
    result = balance(kit)
    assert (result.invoiced, result.paid, result.open) == (549_73, 549_73, 0)


def test_payment_redelivered_is_booked_once(kit, client):
    shipped(client)
    raw = event("payment", amount="100.00")
    applied(kit, raw)
    applied(kit, raw)
    assert balance(kit).paid == 100_00 and len(writebacks(kit, "paid")) == 1


def test_pay_out_marks_the_invoice_paid(kit, client):
    shipped(client)
    example = json.loads((FIXTURES / "invoice_paid_out.json").read_text())["body"]
    raw = json.dumps({**example, "order_uuid": ORDER_UUID,
                      "invoice_uuid": INVOICE_UUID}).encode()
    applied(kit, raw)
    assert balance(kit).open == 0
    ((_, note, values),) = writebacks(kit, "paid")
    assert values["state"] == "paid" and "invoice_paid_out" in note
    # the buyer's payment reported afterwards changes nothing
    applied(kit, event("payment", amount="549.73", open_amount="0.00"))
    assert balance(kit).paid == 549_73


def test_payment_never_exceeds_what_is_open(kit, client):
    shipped(client)
    applied(kit, event("payment", amount="900.00"))
    assert balance(kit).paid == 549_73


# -- cancellation after shipment --------------------------------------------------------


def test_cancellation_after_shipment_credits_what_billie_cancelled(kit, client):
    shipped(client)
    applied(kit, event("payment", amount="49.73"))
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        found = ledger.find_order("acme", "4711")
        state = ledger.state_of(found)
        assert state.unbilled == 0  # what the core credits today: nothing
        op = cancelled_invoices(ledger, found, state, "k" * 64, "provider:cancelled")
        assert paid_of(ledger, found) == 49_73
    assert op.after_activation and op.amount.gross == 500_00
    assert op.amount.net + op.amount.tax == 500_00
    assert len(op.idempotency_key) == 64 and op.idempotency_key != "k" * 64


# -- disputes and notes -----------------------------------------------------------------


def test_dispute_marks_the_order_and_tells_the_merchant(kit, client):
    shipped(client)
    assert applied(kit, event("dispute")) == "dispute: the merchant is told"
    ((_, note, values),) = writebacks(kit, "disputed")
    assert "disputes invoice acme-4711-1" in note and "hold further deliveries" in note
    assert values["provider"] == "billie"
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        assert disputed(ledger, ledger.find_order("acme", "4711"))


@pytest.mark.parametrize(("name", "words"), [
    ("clawback", "took back a direct debit payment of 60.00 EUR"),
    ("dca", "debt collection agency (549.73 EUR open)"),
    ("invoice_late", "overdue (549.73 EUR open)")])
def test_clawback_dca_and_late_are_recorded_and_told(kit, client, name, words):
    shipped(client)
    extra = {"amount": "60.00"} if name == "clawback" else {"open_amount": "549.73"}
    applied(kit, event(name, **extra))
    ((_, note, _),) = writebacks(kit, "reported")
    assert words in note and "invoice acme-4711-1" in note
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        kinds = [m.kind for m in ledger.movements_of(ledger.find_order("acme", "4711"))]
    assert f"provider_{webhook.KINDS[name]}" in kinds


def test_unknown_event_is_stored_shown_and_means_nothing_more(kit, client):
    shipped(client)
    assert applied(kit, event("promise_to_pay")) == "promise_to_pay journalled"
    answer = client.post("/webhooks/billie/billie-3333", data=event("brand_new_event"),
                         headers={"X-Api-Key": HOOK_KEY})
    assert answer.status_code == 202
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        found = ledger.find_order("acme", "4711")
        kinds = [m.kind for m in ledger.movements_of(found)]
        values = remote_values(ledger, found)
    assert "provider_promise_to_pay" in kinds and "provider_brand_new_event" in kinds
    assert values["state"] == "active"


def test_documented_order_created_is_answered_2xx(kit, client):
    raw = json.dumps(json.loads((FIXTURES / "order_created.json").read_text())["body"])
    answer = client.post("/webhooks/billie/billie-3333", data=raw,
                         headers={"X-Api-Key": HOOK_KEY})
    assert answer.status_code in (200, 202)


def test_event_key_matches_the_core_journal_key():
    (reported,) = webhook.parse(event("dispute"), {}).events
    assert len(event_key(reported)) == 64


# -- through the receiver and the queue ------------------------------------------------


def test_payment_webhook_through_the_queue_marks_the_invoice_paid(kit, client):
    shipped(client)
    answer = client.post("/webhooks/billie/billie-3333",
                         data=event("payment", amount="549.73", open_amount="0.00"),
                         headers={"X-Api-Key": HOOK_KEY})
    assert answer.status_code == 202
    assert balance(kit).open == 0
    assert writebacks(kit, "paid")[-1][2]["state"] == "paid"
    values = writebacks(kit, "paid")[-1][2]
    assert (values["invoice_ids"], values["paid_amount"], values["open_amount"]) == (
        "acme-4711-1", "549.73", "0.00")


def test_activation_write_back_names_the_invoice_number_and_due_date(kit, client):
    shipped(client)
    ((_, _, values),) = writebacks(kit, "activated")
    assert (values["invoice_ids"], values["due_date"]) == ("acme-4711-1", "2026-12-03")
    assert INVOICE_UUID not in values["invoice_ids"]


def test_cancellation_after_shipment_through_the_queue_credits_the_invoice(kit, client):
    shipped(client)
    for _ in range(2):  # a redelivery changes nothing
        answer = client.post("/webhooks/billie/billie-3333",
                             data=event("payment", amount="49.73", open_amount="500.00"),
                             headers={"X-Api-Key": HOOK_KEY})
        assert answer.status_code in (200, 202)  # 200 for the redelivery: stored already
    for _ in range(2):
        answer = client.post("/webhooks/billie/billie-3333", data=event("order_canceled"),
                             headers={"X-Api-Key": HOOK_KEY})
        assert answer.status_code in (200, 202)  # 200 for the redelivery: stored already
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        found = ledger.find_order("acme", "4711")
        credits = [r for r in ledger.operations_of(found) if r.kind == "full_credit"]
        assert [(r.status, r.gross, r.after_activation) for r in credits] == [
            ("succeeded", 500_00, True)]
        assert ledger.state_of(found).credited == 500_00
    assert balance(kit).open == 0
    assert len(writebacks(kit, "credited")) == 1


def test_orders_show_and_the_back_office_show_paid_open_and_disputed(kit, client):
    from click.testing import CliRunner
    from test_backoffice import PASSWORD, sign_in

    from core.users import create_user
    from webhooks import create_app
    from webhooks.cli import main

    shipped(client)
    for raw in (event("payment", amount="300.00", open_amount="249.73"), event("dispute")):
        answer = client.post("/webhooks/billie/billie-3333", data=raw,
                             headers={"X-Api-Key": HOOK_KEY})
        assert answer.status_code == 202
    env = {"INVOICEKIT_HOME": str(kit.settings.home / "instance"),
           "INVOICEKIT_DATABASE_URL": kit.settings.database_url,
           "INVOICEKIT_QUEUE_URL": "memory://"}
    shown = CliRunner(env=env).invoke(main, ["orders", "show", "acme", "4711"])
    assert shown.exit_code == 0, shown.output
    assert "invoiced 549.73, credited 0.00, paid 300.00, open 249.73 EUR" in shown.output
    assert "charges" not in shown.output
    assert "disputed: billie reports that the buyer disputes an invoice" in shown.output
    with session_scope(kit.engine) as session:
        create_user(Ledger(session), MERCHANT_ID, "anna@acme.example", PASSWORD)
        order_key = Ledger(session).find_order("acme", "4711").id
    office = create_app({"TESTING": True}, kit=kit).test_client()
    sign_in(office)
    page = office.get(f"/office/orders/{order_key}").get_data(as_text=True)
    assert '<dd id="paid">300.00 EUR</dd>' in page
    assert '<dd id="open">249.73 EUR</dd>' in page
    assert 'id="disputed"' in page and 'id="charges"' not in page
