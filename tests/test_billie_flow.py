"""WooCommerce deliveries through the receiver, the queue, the executor and the Billie plugin,
with ``responses`` standing in for Billie. Faults at Billie end in exactly one effect, or in
a dead operation the merchant can see and retry; never in two effects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
import responses
from click.testing import CliRunner
from responses.registries import OrderedRegistry
from sqlalchemy import select, update
from test_billie import BASE, INVOICE_UUID, ORDER_UUID, SETTINGS, as_json, billie_order

from conftest import MERCHANT_ID, WOO_SECRET
from core.execute import process_snapshot
from core.inbox import process_delivery
from core.ledger.db import session_scope
from core.ledger.models import Delivery, OperationRecord
from core.ledger.store import Ledger
from core.retry import Backoff
from plugins.billie import client as billie_client
from plugins.billie import wire
from webhooks.cli import main
from woo import body, headers, order

URL = "/webhooks/woocommerce/acme"
INVOICES = BASE + "invoices"
ORDER = BASE + f"orders/{ORDER_UUID}"
SIX = Backoff(base=0, max_attempts=6, jitter=False)


@pytest.fixture(autouse=True)
def billie_merchant(kit, woo_shop):
    # only Billie's API answers here, in a fixed order: the shop's write-back (tested in
    # test_writeback.py) stays out of it
    kit.hooks.pm.unregister(name="core.writeback.plugin")
    billie_client.clear_token_cache()
    with session_scope(kit.engine) as session:
        Ledger(session).configure_merchant(MERCHANT_ID, provider="billie",
                                           provider_settings=SETTINGS)
    yield
    billie_client.clear_token_cache()


def post(client, topic, status):
    raw = body(order(status=status, modified="2026-11-03T14:00:00"
                     if status == "completed" else "2026-11-02T09:15:00"))
    return client.post(URL, data=raw, headers=headers(raw, WOO_SECRET, topic))


def token(api, value="eyJ.one"):
    api.post(BASE + "oauth/token", json={"expires_in": 28800, "access_token": value})


def placed(api):
    api.add("POST", BASE + "orders", body=as_json(billie_order(gross="549.73", net="467.00")),
            content_type="application/json")


def order_with(api, invoices=()):
    api.add("GET", ORDER, body=as_json(billie_order(gross="549.73", net="467.00",
                                                    invoices=list(invoices))),
            content_type="application/json")


INVOICE = {"uuid": INVOICE_UUID, "invoice_number": "acme-4711-1", "state": "new",
           "outstanding_amount": Decimal("549.73"), "due_date": "2026-12-03",
           "amount": {"gross": Decimal("549.73"), "net": Decimal("467.00"),
                      "tax": Decimal("82.73")}}


def invoice_created(api):
    """``POST invoices`` answered, then the order read for the invoice's number, due date
    and pay-to account (``POST invoices`` answers only the uuid)."""
    api.post(INVOICES, status=201, json={"uuid": INVOICE_UUID})
    order_with(api, invoices=[INVOICE])


def the_delivery(kit):
    with session_scope(kit.engine) as session:
        return session.scalars(select(Delivery).order_by(Delivery.id.desc())).first()


def activation(kit):
    with session_scope(kit.engine) as session:
        return session.scalars(select(OperationRecord).where(
            OperationRecord.kind == "activation")).one()


def calls(api, method, url):
    return [c for c in api.calls if c.request.method == method and c.request.url == url]


def cli_env(kit):
    return {"INVOICEKIT_HOME": str(kit.settings.home / "instance"),
            "INVOICEKIT_DATABASE_URL": kit.settings.database_url,
            "INVOICEKIT_QUEUE_URL": "memory://"}


def time_passes(kit):
    with session_scope(kit.engine) as session:
        session.execute(update(OperationRecord).values(next_attempt_at=None))


def retry(kit, backoff=SIX):
    """The queue's next try of the newest delivery, once its operation's wait is over."""
    time_passes(kit)
    return process_delivery(kit.engine, kit.hooks, the_delivery(kit).id, backoff)


def test_500_500_200_gives_one_invoice(kit, client):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        placed(api)
        api.post(INVOICES, status=500)
        order_with(api)  # the state read before the repeat: no invoice yet
        api.post(INVOICES, status=500)
        order_with(api)
        invoice_created(api)
        assert post(client, "order.created", "processing").status_code == 202
        assert post(client, "order.updated", "completed").status_code == 202
        assert the_delivery(kit).status == "retrying"
        assert retry(kit).status == "retrying"
        assert retry(kit).status == "done"
        sent = calls(api, "POST", INVOICES)
    assert len(sent) == 3 and len({c.request.body for c in sent}) == 1
    record = activation(kit)
    assert (record.status, record.attempts, record.provider_reference) == (
        "succeeded", 3, INVOICE_UUID)


@pytest.mark.parametrize("status, retry_after", [(503, "120"), (429, None)])
def test_try_later_is_repeated_without_a_state_read(kit, client, status, retry_after):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        placed(api)
        api.post(INVOICES, status=status,
                 headers={"Retry-After": retry_after} if retry_after else {})
        invoice_created(api)
        post(client, "order.created", "processing")
        post(client, "order.updated", "completed")
        delivery = the_delivery(kit)
        assert delivery.status == "retrying" and not activation(kit).uncertain
        wait = (delivery.next_attempt_at - datetime.now(UTC)).total_seconds()
        if retry_after:
            assert wait > 100  # Retry-After honoured (the backoff alone would be 10 s)
            early = process_delivery(kit.engine, kit.hooks, delivery.id, SIX)
            assert early.status == "retrying" and "waits until" in early.error
            assert len(calls(api, "POST", INVOICES)) == 1  # too early: nothing was sent
        assert retry(kit).status == "done"
        # nothing can have happened: no read before the repeat, only the invoice's details
        assert [c.request.method for c in api.calls if c.request.url in (INVOICES, ORDER)
                ] == ["POST", "POST", "GET"]
    assert activation(kit).status == "succeeded"


def test_six_500s_end_dead_then_a_manual_retry_succeeds(kit, client):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        placed(api)
        api.post(INVOICES, status=500)
        for _ in range(5):
            order_with(api)
            api.post(INVOICES, status=500)
        post(client, "order.created", "processing")
        post(client, "order.updated", "completed")
        for _ in range(5):
            result = retry(kit)
        assert result.status == "dead" and "gave up after 6 attempts" in result.error
        assert len(calls(api, "POST", INVOICES)) == 6
    record = activation(kit)
    assert record.status == "dead" and "500" in record.error

    runner = CliRunner(env=cli_env(kit))
    listed = runner.invoke(main, ["operations", "list", "--failed"]).output
    assert f"{record.id}  acme/4711  activation 549.73 EUR  dead (attempts 6)" in listed
    shown = runner.invoke(main, ["orders", "show", "acme", "4711"]).output
    assert "operation activation 549.73: dead - gave up after 6 attempts" in shown
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        order_with(api)  # the last attempt's outcome is unknown: read first
        invoice_created(api)
        retried = runner.invoke(main, ["operations", "retry", str(record.id)])
        assert retried.exit_code == 0, retried.output
        assert "active: activation 549.73" in retried.output
        assert len(calls(api, "POST", INVOICES)) == 1
    assert activation(kit).status == "succeeded"
    assert the_delivery(kit).status == "done"  # queued again by the retry, and finished


def test_a_delivery_whose_operation_was_retried_by_hand_stops_retrying(kit, client):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        placed(api)
        api.post(INVOICES, status=503, headers={"Retry-After": "3600"})
        post(client, "order.created", "processing")
        post(client, "order.updated", "completed")
        assert the_delivery(kit).status == "retrying"
        record = activation(kit)
        assert record.status == "failed"
        invoice_created(api)
        retried = CliRunner(env=cli_env(kit)).invoke(main, ["operations", "retry",
                                                             str(record.id)])
        assert retried.exit_code == 0, retried.output
        assert len(calls(api, "POST", INVOICES)) == 2
    assert activation(kit).status == "succeeded"
    delivery = the_delivery(kit)
    assert (delivery.status, delivery.error, delivery.next_attempt_at) == ("done", None, None)


def test_read_timeout_after_billie_applied_it_is_not_sent_again(kit, client):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        placed(api)
        api.add("POST", INVOICES, body=requests.exceptions.ReadTimeout("read timed out"))
        order_with(api, invoices=[{"uuid": INVOICE_UUID, "invoice_number": "acme-4711-1",
                                   "state": "new", "outstanding_amount": Decimal("549.73"),
                                   "amount": {"gross": Decimal("549.73"),
                                              "net": Decimal("467.00"),
                                              "tax": Decimal("82.73")}}])
        post(client, "order.created", "processing")
        post(client, "order.updated", "completed")
        assert activation(kit).uncertain
        assert retry(kit).status == "done"
        assert len(calls(api, "POST", INVOICES)) == 1
    record = activation(kit)
    assert (record.status, record.provider_reference, record.uncertain) == (
        "succeeded", INVOICE_UUID, False)


def test_expired_token_is_refreshed_once(kit, client):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api, "eyJ.old")
        placed(api)
        api.post(INVOICES, status=401)
        token(api, "eyJ.new")
        invoice_created(api)
        post(client, "order.created", "processing")
        post(client, "order.updated", "completed")
        sent = calls(api, "POST", INVOICES)
    assert [c.request.headers["Authorization"] for c in sent] == ["Bearer eyJ.old",
                                                                  "Bearer eyJ.new"]
    assert (activation(kit).status, activation(kit).attempts) == ("succeeded", 1)
    assert the_delivery(kit).status == "done"


def test_decline_is_the_orders_visible_reason(kit, client):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        api.add("POST", BASE + "orders", content_type="application/json",
                body=as_json(billie_order("declined", decline_reason="risk_policy")))
        post(client, "order.created", "processing")
        post(client, "order.updated", "completed")  # nothing more is sent for it
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        state = ledger.state_of(ledger.find_order("acme", "4711"))
        kinds = [r.kind for r in ledger.operations_of(ledger.find_order("acme", "4711"))]
    assert (state.status.value, state.decline_reason) == ("declined", "risk_policy")
    assert kinds == ["placement"]
    assert the_delivery(kit).status == "done"


def test_validation_error_names_the_field_and_is_dead_at_once(kit, client):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        placed(api)
        api.post(INVOICES, status=400, json={"errors": [
            {"title": "Amount too high", "code": "request_validation_error",
             "source": "amount.gross"}]})
        post(client, "order.created", "processing")
        post(client, "order.updated", "completed")
        assert len(calls(api, "POST", INVOICES)) == 1
    record = activation(kit)
    assert record.status == "dead" and record.attempts == 1
    assert "Amount too high [amount.gross, request_validation_error]" in record.error
    delivery = the_delivery(kit)
    assert delivery.status == "dead" and "amount.gross" in delivery.error


# -- Billie's own webhooks --------------------------------------------------------------

HOOK_KEY = "billie-hook-key-000000000001"


def billie_event(event: str, **extra) -> bytes:
    return json.dumps({"event": event, "order_id": "4711", "order_uuid": ORDER_UUID,
                       "created_at": "2026-11-04 10:00:00", **extra}).encode()


@pytest.fixture
def billie_hooks(kit):
    with session_scope(kit.engine) as session:
        Ledger(session).add_connection(name="billie-3333", merchant_id=MERCHANT_ID,
                                       platform="billie", secrets=[HOOK_KEY])
    return "/webhooks/billie/billie-3333"


def journal(kit):
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        order_row = ledger.find_order("acme", "4711")
        return ledger.state_of(order_row), [(m.kind, m.amount)
                                            for m in ledger.movements_of(order_row)]


def test_billie_cancellation_voids_the_order_without_calling_billie(kit, client, billie_hooks):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        placed(api)
        post(client, "order.created", "processing")
    bad = client.post(billie_hooks, data=billie_event("order_canceled"),
                      headers={"X-Api-Key": "billie-hook-key-000000000002"})
    assert bad.status_code == 401 and HOOK_KEY not in bad.get_data(as_text=True)
    assert journal(kit)[1] == []
    # no request reaches Billie: responses would refuse any
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        for _ in range(2):  # the redelivery is a duplicate
            answer = client.post(billie_hooks, data=billie_event("order_canceled"),
                                 headers={"X-Api-Key": HOOK_KEY})
            assert answer.status_code in (200, 202)
        paid = client.post(billie_hooks, data=billie_event("order_paid_out", amount="549.73"),
                           headers={"Authorization": f"Basic {HOOK_KEY}"})
        assert paid.status_code == 202
    state, movements = journal(kit)
    assert state.status.value == "voided" and state.open_amount == 0
    assert movements == [("provider_cancelled", 0), ("provider_paid_out", 549_73)]
    with session_scope(kit.engine) as session:
        ops = [(r.kind, r.source, r.status) for r in Ledger(session).operations_of(
            Ledger(session).find_order("acme", "4711"))]
    assert ops == [("placement", "placement", "succeeded"),
                   ("full_credit", "provider:cancelled", "succeeded")]
    details = json.loads(CliRunner().invoke(main, ["orders", "show", "acme", "4711", "--json"],
                                            env=cli_env(kit)).stdout)
    assert details["status"] == "voided"
    assert [e["kind"] for e in details["provider_events"]] == ["cancelled", "paid_out"]
    assert [e["description"] for e in details["provider_events"]] == [
        "billie reported order_canceled", "billie reported order_paid_out"]


def test_event_for_an_order_the_kit_does_not_know_is_done_and_changes_nothing(
        kit, client, billie_hooks):
    answer = client.post(billie_hooks, data=billie_event("order_shipped"),
                         headers={"X-Api-Key": HOOK_KEY})
    assert answer.status_code == 202
    delivery = the_delivery(kit)
    assert delivery.status == "done" and delivery.topic == "order_shipped"


# -- a whole life cycle, from canonical snapshots ---------------------------------------


def test_life_cycle_sends_exactly_the_documented_requests(kit, woo_shop):
    """Placement, the chairs and shipping shipped (a partial activation), one chair returned
    (a credit note), the paper taken off the order (the rest cancelled)."""
    from test_billie import LINES

    from orders import line, snapshot

    def step(minutes, shipped=(), refunds=(), lines=LINES):
        items = [line(*spec) for spec in lines]
        for item in items:
            item["shipped"] = dict(shipped).get(item["line_id"])
        return snapshot("1001", lines=items, discounts=[], minutes=minutes,
                        refunds=list(refunds))

    chair = {"refund_id": "r1", "amount": "119.00",
             "lines": [{"line_id": "1", "quantity": 1, "amount": "119.00"}]}
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        token(api)
        api.add("POST", BASE + "orders", body=as_json(billie_order()),
                content_type="application/json")
        api.post(INVOICES, status=201, json={"uuid": INVOICE_UUID})
        api.add("GET", ORDER, body=as_json(billie_order("partially_shipped")),
                content_type="application/json")  # the new invoice's details
        api.post(BASE + f"invoices/{INVOICE_UUID}/credit-notes", status=201,
                 json={"uuid": "c3d40000-0000-4000-8000-000000000001"})
        api.post(ORDER + "/cancel", status=204)
        outcomes = [process_snapshot(kit.engine, kit.hooks, s) for s in (
            step(0),
            step(1, shipped={"1": 2, "2": 0, "ship": 1}),
            step(2, shipped={"1": 2, "2": 0, "ship": 1}, refunds=[chair]),
            step(3, shipped={"1": 2, "ship": 1}, refunds=[chair], lines=[
                spec for spec in LINES if spec[0] != "2"]),
        )]
        bodies = [(c.request.method, c.request.url.removeprefix(BASE),
                   wire.loads(c.request.body) if c.request.body else None)
                  for c in api.calls[1:]]
    assert all(o.failure is None for o in outcomes)
    order_body = bodies[0][2]
    assert bodies[0][:2] == ("POST", "orders")
    assert order_body["amount"] == {"net": Decimal("260.00"), "gross": Decimal("303.40"),
                                    "tax": Decimal("43.40")}
    assert bodies[1:] == [
        ("POST", "invoices", {
            "orders": [ORDER_UUID], "external_code": "acme-1001-1", "invoice_url": ".",
            "shipping_info": {},
            "amount": {"net": Decimal("210.00"), "gross": Decimal("249.90"),
                       "tax": Decimal("39.90")},
            "line_items": [{"external_id": "1", "quantity": 2}]}),
        ("GET", f"orders/{ORDER_UUID}", None),
        ("POST", f"invoices/{INVOICE_UUID}/credit-notes", {
            "external_code": bodies[3][2]["external_code"],
            "amount": {"net": Decimal("100.00"), "gross": Decimal("119.00"),
                       "tax": Decimal("19.00")},
            "comment": "Return (refund:r1)",
            "line_items": [{"external_id": "1", "quantity": 1}]}),
        ("POST", f"orders/{ORDER_UUID}/cancel", None),
    ]
    assert bodies[3][2]["external_code"].startswith("CN-1001-")
    # the parts add up to the cent: invoiced + cancelled = authorised, open = invoiced - credited
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        state = ledger.state_of(ledger.find_order("acme", "1001"))
    assert (state.status.value, state.activated, state.credited, state.reduced) == (
        "active", 249_90, 119_00, 53_50)
    assert state.activated + state.reduced == 303_40
    assert state.open_amount == 130_90 and state.unbilled == 0
