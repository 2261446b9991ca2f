"""A WooCommerce invoice order end to end through the receiver, the queue and the ledger:
created, completed, two units of one line refunded, then the rest; replayed any way."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from schwifty import IBAN
from sqlalchemy import select

from conftest import WOO_SECRET
from core.inbox import process_delivery, replay_delivery
from core.ledger.db import session_scope
from core.ledger.models import Delivery, Invoice, OperationRecord
from core.ledger.store import Ledger
from woo import body, headers, order, with_refund

URL = "/webhooks/woocommerce/acme"
REFUNDS_URL = "https://shop.example-b2b.de/wp-json/wc/v3/orders/4711/refunds"
TWO_LAMPS = {"id": 5001, "amount": "83.30", "reason": "broken", "line_items": [
    {"id": 9001, "name": "Desk lamp", "quantity": -2, "total": "-70.00", "total_tax": "-13.30",
     "meta_data": [{"id": 1, "key": "_refunded_item_id", "value": "103"}]}],
    "shipping_lines": [], "fee_lines": []}
THE_REST = {"id": 5002, "amount": "466.43", "reason": "", "line_items": [],
            "shipping_lines": [], "fee_lines": []}


def deliveries():
    created = order(status="processing", modified="2026-11-02T09:15:00")
    completed = order(status="completed", modified="2026-11-03T14:00:00")
    two_lamps = with_refund(completed, 5001, "83.30", "2026-11-05T08:30:00", reason="broken")
    everything = with_refund(two_lamps, 5002, "466.43", "2026-11-09T16:45:00")
    return [("order.created", created), ("order.updated", completed),
            ("order.updated", two_lamps), ("order.updated", everything)]


def post(client, topic, data):
    raw = body(data)
    return client.post(URL, data=raw, headers=headers(raw, WOO_SECRET, topic))


def view(kit):
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        order_row = ledger.find_order("acme", "4711")
        state = ledger.state_of(order_row)
        invoice = session.scalars(select(Invoice).where(Invoice.kind == "invoice")).one_or_none()
        ops = [(r.kind, r.gross, r.status) for r in ledger.operations_of(order_row)]
        return {"status": state.status.value, "open": state.open_amount,
                "activated": state.activated, "credited": state.credited, "ops": ops,
                "invoice": None if invoice is None else (
                    invoice.number, invoice.payment_reference, invoice.iban,
                    invoice.due_on - invoice.issued_on, invoice.gross),
                "lines": {k: (v.ordered, v.returned) for k, v in state.lines.items()}}


@pytest.fixture
def refunds_api():
    with responses.RequestsMock() as api:
        api.get(REFUNDS_URL, json=[THE_REST, TWO_LAMPS])
        yield api


def test_invoice_order_from_creation_to_full_refund(client, kit, refunds_api):
    steps = deliveries()
    assert post(client, *steps[0]).status_code == 202
    assert view(kit)["status"] == "authorised" and view(kit)["invoice"] is None

    assert post(client, *steps[1]).status_code == 202
    v = view(kit)
    number, reference, iban, term, gross = v["invoice"]
    assert (v["status"], v["open"], number, reference, term, gross) == (
        "active", 549_73, "INV-000001", "BP4711/3333", timedelta(days=30), 549_73)
    assert IBAN(iban).validate(validate_bban=True)

    assert post(client, *steps[2]).status_code == 202
    v = view(kit)
    assert v["ops"][-1] == ("return", 83_30, "succeeded")
    assert v["open"] == 466_43 and v["lines"]["103"] == (3, 2)

    assert post(client, *steps[3]).status_code == 202
    v = view(kit)
    assert (v["status"], v["open"], v["credited"]) == ("credited", 0, 549_73)
    assert v["ops"] == [("placement", 549_73, "succeeded"), ("activation", 549_73, "succeeded"),
                        ("return", 83_30, "succeeded"), ("full_credit", 466_43, "succeeded")]


def test_replays_in_any_order_change_nothing(client, kit, refunds_api):
    steps = deliveries()
    for step in steps:
        post(client, *step)
    final = view(kit)
    for _ in range(3):  # the shop sends everything again: acknowledged, stored once
        for step in steps:
            assert post(client, *step).status_code == 200
    for step in reversed(steps):
        assert post(client, *step).status_code == 200
    with session_scope(kit.engine) as session:
        ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id.desc())))
    assert len(ids) == 4
    for _ in range(3):  # the merchant replays every stored delivery, newest first
        for delivery_id in ids:
            replay_delivery(kit.engine, delivery_id)
            assert process_delivery(kit.engine, kit.hooks, delivery_id).status == "done"
    assert view(kit) == final
    with session_scope(kit.engine) as session:
        assert len(session.scalars(select(OperationRecord)).all()) == 4


def test_a_delivery_that_keeps_failing_ends_dead_and_can_be_replayed(client, kit):
    from core.retry import Backoff

    steps = deliveries()
    post(client, *steps[0])
    post(client, *steps[1])
    with responses.RequestsMock() as api:
        api.get(REFUNDS_URL, status=503)
        assert post(client, *steps[2]).status_code == 202  # stored; the shop is down
        with session_scope(kit.engine) as session:
            delivery = session.scalars(select(Delivery).order_by(Delivery.id.desc())).first()
            assert delivery.status == "retrying" and "503" in delivery.error
            delivery_id = delivery.id
        for _ in range(3):
            result = process_delivery(kit.engine, kit.hooks, delivery_id,
                                      Backoff(max_attempts=4))
        assert result.status == "dead" and "gave up after 4 attempts" in result.error
    with responses.RequestsMock() as api:
        api.get(REFUNDS_URL, json=[TWO_LAMPS])
        replay_delivery(kit.engine, delivery_id)
        assert process_delivery(kit.engine, kit.hooks, delivery_id).status == "done"
    assert view(kit)["ops"][-1] == ("return", 83_30, "succeeded")


def test_backoff_is_exponential_capped_and_jittered():
    from core.retry import Backoff

    delays = [Backoff(base=10, cap=300, jitter=False).delay(n) for n in range(1, 8)]
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    jittered = Backoff(base=10, cap=300)
    for n, plain in enumerate(delays, start=1):
        draws = {jittered.delay(n) for _ in range(50)}
        assert all(plain / 2 <= d <= plain for d in draws) and len(draws) > 1
    assert Backoff(base=10, cap=300).delay(1, retry_after=120) == 120
