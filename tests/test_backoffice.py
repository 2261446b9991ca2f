"""The back office: sign-in, one merchant's orders only, confirmed actions through the core,
CSRF on every form, buyer text escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from conftest import MERCHANT_ID
from core.execute import process_snapshot
from core.ledger.db import session_scope
from core.ledger.models import Invoice, Order
from core.ledger.store import Ledger
from core.schemas import load_snapshot
from core.users import create_user
from orders import order_data

PASSWORD = "correct horse battery"
EVIL = "<script>alert(1)</script> Bürobedarf"


@pytest.fixture
def office(kit, woo_shop):
    from webhooks import create_app

    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(id=4444, name="Other GmbH", country="DE", account_holder="Other",
                            bank_code="10020030", account_first=4_100_000_000,
                            account_last=4_100_009_999, kyc_verified=True)
        ledger.add_connection(name="other", merchant_id=4444, platform="woocommerce",
                              status_map={"completed": "activate"}, secrets=["x"])
        create_user(ledger, MERCHANT_ID, "anna@acme.example", PASSWORD)
        create_user(ledger, 4444, "otto@other.example", PASSWORD)
    for shop, order_id, company, vat_id in (
            ("acme", "1001", EVIL, "DE136695976"), ("acme", "1002", "Beispiel", "DE811128135"),
            ("other", "2001", "Fremd", "DE136695976")):
        data = order_data(order_id, shop=shop, discounts=[])
        data["buyer"].update(company=company, vat_id=vat_id)
        process_snapshot(kit.engine, kit.hooks, load_snapshot(data))
    return create_app({"TESTING": True}, kit=kit).test_client()


def csrf(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sign_in(client, email="anna@acme.example", password=PASSWORD):
    token = csrf(client.get("/office/sign-in"))
    return client.post("/office/sign-in", data={"csrf": token, "email": email,
                                                "password": password})


def order_id(kit, shop_order_id: str) -> int:
    with session_scope(kit.engine) as session:
        return session.scalars(select(Order.id).where(
            Order.shop_order_id == shop_order_id)).one()


def act(client, oid: int, action: str, **fields):
    page = client.get(f"/office/orders/{oid}/confirm/{action}")
    assert page.status_code == 200
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(f"/office/orders/{oid}/{action}",
                       data={"csrf": csrf(page), "nonce": nonce, **fields})


def test_pages_need_a_signed_in_user(office):
    answer = office.get("/office/orders")
    assert answer.status_code == 302 and "/office/sign-in" in answer.headers["Location"]


def test_sign_in_checks_password_csrf_and_locks_after_five_failures(office):
    assert office.post("/office/sign-in", data={"email": "anna@acme.example",
                                                "password": PASSWORD}).status_code == 400
    for _ in range(5):
        assert sign_in(office, password="wrong password!!").status_code == 401
    assert sign_in(office).status_code == 401  # locked, even with the right password
    fresh = office.application.test_client()
    assert sign_in(fresh, email="otto@other.example").status_code == 302


def test_orders_are_listed_searched_and_escaped(office):
    sign_in(office)
    page = office.get("/office/orders").get_data(as_text=True)
    assert "1001" in page and "1002" in page and "2001" not in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    found = office.get("/office/orders?q=Beispiel").get_data(as_text=True)
    assert "1002" in found and "1001" not in found
    assert "1001" in office.get("/office/orders?status=authorised").get_data(as_text=True)


def test_another_merchants_order_cannot_be_seen_or_acted_on(office, kit):
    sign_in(office)
    foreign = order_id(kit, "2001")
    assert office.get(f"/office/orders/{foreign}").status_code == 404
    assert office.get(f"/office/orders/{foreign}/confirm/cancel").status_code == 404
    token = csrf(office.get("/office/orders"))
    assert office.post(f"/office/orders/{foreign}/cancel",
                       data={"csrf": token}).status_code == 404
    with session_scope(kit.engine) as session:
        assert session.get(Order, foreign).status == "authorised"


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(office, kit):
    sign_in(office)
    oid = order_id(kit, "1001")
    assert office.post(f"/office/orders/{oid}/activate", data={}).status_code == 400
    assert office.post(f"/office/orders/{oid}/activate",
                       data={"csrf": "forged"}).status_code == 400
    assert office.get(f"/office/orders/{oid}/activate").status_code == 405  # no GET actions
    with session_scope(kit.engine) as session:
        assert session.get(Order, oid).status == "authorised"


def test_activate_then_a_partial_cancellation_of_ten(office, kit):
    sign_in(office)
    oid = order_id(kit, "1001")
    assert act(office, oid, "activate").status_code == 302
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert "Activate: done: activation 549.73 EUR" in page
    assert '<dd id="open">549.73 EUR</dd>' in page
    assert act(office, oid, "reduce", amount="10.00").status_code == 302
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert '<dd id="open">539.73 EUR</dd>' in page
    assert "operation partial_credit (office:" in page  # the timeline
    with session_scope(kit.engine) as session:
        notes = session.scalars(select(Invoice.gross).where(
            Invoice.order_id == oid, Invoice.kind == "credit_note")).all()
    assert notes == [10_00]


def test_an_increase_is_refused_with_the_reason(office, kit):
    sign_in(office)
    oid = order_id(kit, "1002")
    answer = act(office, oid, "reduce", amount="-10.00")
    assert answer.status_code == 400 and b"increase" in answer.data


def test_cancel_before_activation_voids(office, kit):
    sign_in(office)
    oid = order_id(kit, "1002")
    act(office, oid, "cancel")
    assert '<dd id="status">voided</dd>' in office.get(f"/office/orders/{oid}").get_data(
        as_text=True)


def test_a_confirmation_sent_twice_is_one_reduction(office, kit):
    sign_in(office)
    oid = order_id(kit, "1001")
    act(office, oid, "activate")
    page = office.get(f"/office/orders/{oid}/confirm/reduce")
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    for _ in range(2):
        office.post(f"/office/orders/{oid}/reduce",
                    data={"csrf": csrf(page), "nonce": nonce, "amount": "10.00"})
    with session_scope(kit.engine) as session:
        assert session.scalars(select(Invoice.gross).where(
            Invoice.order_id == oid, Invoice.kind == "credit_note")).all() == [10_00]


def test_dead_deliveries_are_listed_and_replayed_only_for_their_merchant(office, kit):
    from core.ledger.models import Delivery

    with session_scope(kit.engine) as session:
        for shop, n in (("acme", 1), ("other", 2)):
            connection = Ledger(session).connection(shop)
            session.add(Delivery(connection_id=connection.id, dedupe_key=f"dead-{n}",
                                 topic="order.updated", shop_order_id=f"90{n}", headers={},
                                 body=b"{}", status="dead", attempts=5,
                                 error=f"broken <b>{n}</b>"))
    sign_in(office)
    page = office.get("/office/deliveries").get_data(as_text=True)
    assert "broken &lt;b&gt;1&lt;/b&gt;" in page and "broken &lt;b&gt;2" not in page
    with session_scope(kit.engine) as session:
        mine, theirs = session.scalars(select(Delivery.id).where(
            Delivery.dedupe_key.in_(("dead-1", "dead-2"))).order_by(Delivery.dedupe_key)).all()
    token = csrf(office.get("/office/deliveries"))
    assert office.post(f"/office/deliveries/{theirs}/replay",
                       data={"csrf": token, "confirm": "yes"}).status_code == 404
    assert office.post(f"/office/deliveries/{mine}/replay",
                       data={"csrf": token}).status_code == 400  # not confirmed
    assert office.post(f"/office/deliveries/{mine}/replay",
                       data={"csrf": token, "confirm": "yes"}).status_code == 302


@time_machine.travel(datetime(2026, 12, 13, 12, tzinfo=UTC))  # a Sunday: due in week +5
def test_statements_download_for_the_own_merchant_and_the_chart(office, kit):
    sign_in(office)
    oid = order_id(kit, "1001")
    act(office, oid, "activate")
    page = office.get("/office/statements").get_data(as_text=True)
    assert 'id="chart"' in page and "paid 0.00 EUR" in page
    assert "open 549.73 EUR" in page  # the invoice is due in 30 days
    from core.statements.build import week_of

    week = week_of(datetime.now(UTC).date())
    answer = office.get(f"/office/statements/{week}.csv")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    text = answer.get_data(as_text=True)
    assert "INV-000001" in text and "2001" not in text
    assert office.get(f"/office/statements/{week}.pdf").data.startswith(b"%PDF")
    assert office.get("/office/statements/2026-W99.csv").status_code == 404
    assert office.get(f"/office/statements/{week}.exe").status_code == 404


def test_receivables_calls_overdue_and_the_dunning_choice(office, kit):
    from datetime import UTC, datetime, timedelta

    from core.ledger.models import DunningStep, Merchant, Receivable

    sign_in(office)
    oid = order_id(kit, "1001")
    act(office, oid, "activate")
    today = datetime.now(UTC).date()
    with session_scope(kit.engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        receivable.due_on = today - timedelta(days=3)
        session.add(DunningStep(receivable_id=receivable.id, step_id="call", action="call",
                                channel="call", scheduled_on=today, taken_on=today,
                                status="open"))
    page = office.get("/office/receivables").get_data(as_text=True)
    assert "&lt;script&gt;" in page and "einkauf@muster.example" in page
    assert "<h3>call</h3>" in page and "INV-000001" in page
    assert "can be made until" in page
    step = re.search(r'action="/office/calls/(\d+)"', page).group(1)
    token = csrf(office.get("/office/receivables"))
    assert office.post(f"/office/calls/{step}", data={"csrf": token}).status_code == 400
    assert office.post(f"/office/calls/{step}", data={"csrf": token, "outcome":
                       "goods arrived, invoice lost: sent again"}).status_code == 302
    with session_scope(kit.engine) as session:
        done = session.get(DunningStep, int(step))
        assert (done.status, done.outcome) == ("done", "goods arrived, invoice lost: sent again")
    assert office.post("/office/dunning-choice", data={"csrf": token, "final": "cancel",
                                                       "confirm": "yes"}).status_code == 302
    with session_scope(kit.engine) as session:
        assert session.get(Merchant, MERCHANT_ID).dunning_policy_set_by == "merchant"
    other = office.application.test_client()
    sign_in(other, email="otto@other.example")
    token = csrf(other.get("/office/receivables"))
    assert other.post(f"/office/calls/{step}", data={"csrf": token,
                                                     "outcome": "x"}).status_code == 404
    assert "INV-000001" not in other.get("/office/receivables").get_data(as_text=True)


def test_extend_the_due_date_stop_and_resume_dunning(office, kit):
    from core.ledger.models import Receivable

    sign_in(office)
    oid = order_id(kit, "1001")
    act(office, oid, "activate")
    with session_scope(kit.engine) as session:
        due = session.scalars(select(Receivable.due_on)).one()
    assert act(office, oid, "extend", days="abc").status_code == 400
    act(office, oid, "extend", days="14")
    act(office, oid, "stop-dunning")
    with session_scope(kit.engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        assert (receivable.due_on - due).days == 14 and receivable.status == "stopped"
    act(office, oid, "resume-dunning")
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert "dunning resumed for 1 invoice(s)" in page
    with session_scope(kit.engine) as session:
        assert session.scalars(select(Receivable.status)).one() == "open"


def test_proposed_payments_are_confirmed_for_the_own_orders_only(office, kit):
    from datetime import UTC, datetime

    from core.ledger.models import BankTransactionRecord, Receivable

    sign_in(office)
    act(office, order_id(kit, "1001"), "activate")
    with session_scope(kit.engine) as session:
        for n, oid in ((1, order_id(kit, "1001")), (2, order_id(kit, "2001"))):
            session.add(BankTransactionRecord(
                key=f"tx-{n}", file_name="statement.xml", account_iban="DE02100100100000000001",
                amount=549_73, currency="EUR", credit=True, reversal=False,
                booked_on=datetime.now(UTC).date(), debtor_name="Muster <b>GmbH</b>",
                remittance="Rechnung 1001", status="proposed", proposed_order_id=oid))
    page = office.get("/office/payments").get_data(as_text=True)
    assert "Muster &lt;b&gt;GmbH&lt;/b&gt;" in page and page.count("Rechnung 1001") == 1
    token = csrf(office.get("/office/payments"))
    with session_scope(kit.engine) as session:
        mine, theirs = session.scalars(select(BankTransactionRecord.id)
                                       .order_by(BankTransactionRecord.key)).all()
    assert office.post(f"/office/payments/{theirs}/confirm",
                       data={"csrf": token, "confirm": "yes"}).status_code == 404
    assert office.post(f"/office/payments/{mine}/confirm",
                       data={"csrf": token, "confirm": "yes"}).status_code == 302
    with session_scope(kit.engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        assert (receivable.status, receivable.paid) == ("settled", 549_73)
    order_page = office.get(f"/office/orders/{order_id(kit, '1001')}").get_data(as_text=True)
    assert '<dd id="paid">549.73 EUR</dd>' in order_page
    assert '<dd id="open">0.00 EUR</dd>' in order_page
    assert '<dd id="charges">0.00 EUR (paid 0.00)</dd>' in order_page


def test_return_lines_credits_their_value(office, kit):
    sign_in(office)
    oid = order_id(kit, "1001")
    act(office, oid, "activate")
    assert act(office, oid, "return").status_code == 400  # no units typed
    assert act(office, oid, "return", **{"units-1": "x"}).status_code == 400
    act(office, oid, "return", **{"units-9": "1"})
    assert "not done: the order has no line 9" in office.get(
        f"/office/orders/{oid}").get_data(as_text=True)
    act(office, oid, "return", **{"units-1": "1"})  # one of two office chairs, 357.00
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert "Return lines: done: return 178.50 EUR" in page
    assert "<td>1</td><td>2</td><td>2</td><td>0</td><td>1</td>" in page
    with session_scope(kit.engine) as session:
        assert session.scalars(select(Invoice.gross).where(
            Invoice.order_id == oid, Invoice.kind == "credit_note")).all() == [178_50]


def test_a_statement_upload_books_only_the_own_buyers_transfers(office, kit, tmp_path):
    from test_payments_import import _entry, _tx, camt

    from core.ledger.models import BankTransactionRecord, Buyer, Receivable

    sign_in(office)
    act(office, order_id(kit, "1001"), "activate")
    with session_scope(kit.engine) as session:
        ours, theirs = (session.scalars(select(Buyer.virtual_iban).where(
            Buyer.merchant_id == m)).first() for m in (MERCHANT_ID, 4444))

    def upload(name: str, credited: str):
        path = camt(tmp_path / name, 4, [_entry(4, name, "549.73", 1, [
            _tx(4, amount="549.73", name="Muster", credited=credited)])])
        token = csrf(office.get("/office/payments"))
        with path.open("rb") as file:
            return office.post("/office/payments/upload", data={"csrf": token,
                               "statement": (file, name)}, content_type="multipart/form-data")

    refused = upload("other.xml", theirs)
    assert refused.status_code == 302
    page = office.get("/office/payments").get_data(as_text=True)
    assert "refused, nothing booked: the file holds transfers to another merchant" in page
    with session_scope(kit.engine) as session:
        assert session.scalar(select(BankTransactionRecord.id)) is None
    assert upload("ours.xml", ours).status_code == 302
    with session_scope(kit.engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        assert (receivable.status, receivable.paid) == ("settled", 549_73)


def test_the_order_shows_the_girocode_of_its_open_invoice(office, kit):
    sign_in(office)
    oid = order_id(kit, "1001")
    assert "girocode-0.svg" not in office.get(f"/office/orders/{oid}").get_data(as_text=True)
    act(office, oid, "activate")
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert f"/office/orders/{oid}/girocode-0.svg" in page and "GiroCode: INV-000001" in page
    svg = office.get(f"/office/orders/{oid}/girocode-0.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.data.lstrip().startswith(b"<?xml") and b"<svg" in svg.data
    assert office.get(f"/office/orders/{oid}/girocode-1.svg").status_code == 404
    foreign = order_id(kit, "2001")
    assert office.get(f"/office/orders/{foreign}/girocode-0.svg").status_code == 404
