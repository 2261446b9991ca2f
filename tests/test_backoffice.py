"""The back office: sign-in, one merchant's orders only, confirmed actions through the core,
CSRF on every form, buyer text escaped."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

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
# the back office's "now" in these tests (a Sunday): no test depends on the day it runs
FIXED = datetime(2026, 12, 13, 12, 0, tzinfo=UTC)


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
        data["buyer"].update(company=company, vat_id=vat_id, phone="+49 30 1234567")
        process_snapshot(kit.engine, kit.hooks, load_snapshot(data))
    return create_app({"TESTING": True, "OFFICE_NOW": FIXED}, kit=kit).test_client()


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


def test_statements_download_for_the_own_merchant_and_the_chart(office, kit):
    from core.ledger.models import Receivable

    sign_in(office)
    oid = order_id(kit, "1001")
    act(office, oid, "activate")
    with session_scope(kit.engine) as session:  # issued on the office's Sunday: due in 30
        session.scalars(select(Receivable)).one().due_on = FIXED.date() + timedelta(days=30)
    page = office.get("/office/statements").get_data(as_text=True)
    assert 'id="chart"' in page and "paid 0.00 EUR" in page
    assert "2027-W02: paid 0.00 EUR, open 549.73 EUR" in page  # due Tuesday 2027-01-12
    from core.statements.build import week_of

    week = week_of(datetime.now(UTC).date())  # the statement is of the real activation
    answer = office.get(f"/office/statements/{week}.csv")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    text = answer.get_data(as_text=True)
    assert "INV-000001" in text and "2001" not in text
    assert office.get(f"/office/statements/{week}.pdf").data.startswith(b"%PDF")
    assert office.get("/office/statements/2026-W99.csv").status_code == 404
    assert office.get(f"/office/statements/{week}.exe").status_code == 404


def test_receivables_calls_overdue_and_the_dunning_choice(office, kit):
    from core.ledger.models import DunningStep, Merchant, Receivable

    sign_in(office)
    oid = order_id(kit, "1001")
    act(office, oid, "activate")
    today = FIXED.date()
    with session_scope(kit.engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        receivable.due_on = today - timedelta(days=3)
        session.add(DunningStep(receivable_id=receivable.id, step_id="call", action="call",
                                channel="call", scheduled_on=today, taken_on=today,
                                status="open"))
    page = office.get("/office/receivables").get_data(as_text=True)
    assert "&lt;script&gt;" in page and "einkauf@muster.example" in page
    assert '<a href="tel:+49301234567">+49 30 1234567</a>' in page  # the after-sales call
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
    assert re.search(r"<td>Office chair</td><td>SKU-1</td>.*?<td class=\"num\">2</td>"
                     r"<td class=\"num\">0</td><td class=\"num\">1</td></tr>", page)
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


# -- issue 24: what a real merchant needs -----------------------------------------------------


def offered(page: str) -> list[str]:
    """The actions the order page offers (their labels)."""
    block = re.search(r'<div class="actions card" id="actions">(.*?)</div>', page, re.S)
    return re.findall(r'class="button" href="[^"]+">([^<]+)</a>', block.group(1))


def counts(kit) -> tuple[int, int, int]:
    from core.ledger.models import OperationRecord, WriteBackRecord

    with session_scope(kit.engine) as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (OperationRecord, Invoice, WriteBackRecord))


def test_order_lines_show_what_the_shop_sent(office, kit):
    sign_in(office)
    page = office.get(f"/office/orders/{order_id(kit, '1001')}").get_data(as_text=True)
    rows = re.search(r'<table id="lines">(.*?)</table>', page, re.S).group(1)
    assert "<th>Product</th><th>SKU</th>" in rows
    chair = ('<td>Office chair</td><td>SKU-1</td><td class="num">2</td>'
             '<td class="num">178.50</td><td class="num">19 %</td><td class="num">357.00</td>'
             '<td class="num">0</td><td class="num">0</td><td class="num">0</td>')
    assert chair in rows
    assert '<td>DHL Paket</td><td></td><td class="num">1</td><td class="num">11.90</td>' in rows
    assert '<td class="num">5.35</td><td class="num">7 %</td><td class="num">53.50</td>' \
        in rows  # paper: 10 at 5.35
    assert ">ship<" not in rows and ">1201<" not in rows  # names, not the shop's line ids


def test_only_the_actions_the_orders_state_allows_are_offered(office, kit):
    sign_in(office)
    oid = order_id(kit, "1001")
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert offered(page) == ["Activate", "Partial cancellation", "Cancel"]
    act(office, oid, "activate")
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert offered(page) == ["Partial cancellation", "Return lines", "Cancel", "Stop dunning",
                             "Extend due date"]
    act(office, oid, "stop-dunning")
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert offered(page) == ["Partial cancellation", "Return lines", "Cancel",
                             "Resume dunning", "Extend due date"]
    act(office, oid, "cancel")
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert '<dd id="status">credited</dd>' in page
    assert offered(page) == [] and "No action applies to this order now." in page


@pytest.mark.parametrize(("prepare", "action", "why"), [
    ("cancel", "activate", "the order is voided"),
    ("cancel", "cancel", "the order is voided"),
    (None, "return", "no units are invoiced to return"),
    (None, "retry", "the order has no dead operation or delivery"),
    (None, "stop-dunning", "the order has no open invoice of the local provider"),
    (None, "resume-dunning", "dunning is not stopped"),
    (None, "extend", "the order has no open invoice of the local provider"),
])
def test_an_action_that_does_not_apply_is_refused_and_changes_nothing(
        office, kit, monkeypatch, prepare, action, why):
    import backoffice.orders

    sign_in(office)
    oid = order_id(kit, "1002")
    if prepare:
        act(office, oid, prepare)
    before = counts(kit)
    called = []
    monkeypatch.setattr(backoffice.orders, "run_decided", lambda *a, **k: called.append(a))
    monkeypatch.setattr(backoffice.orders, "retry_order", lambda *a, **k: called.append(a))
    page = office.get(f"/office/orders/{oid}/confirm/{action}")
    assert page.status_code == 409 and why in page.get_data(as_text=True)
    answer = office.post(f"/office/orders/{oid}/{action}", data={
        "csrf": csrf(office.get("/office/orders")), "nonce": "forged-nonce", "amount": "1",
        "days": "14", "units-1": "1"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 409 and answer.mimetype == "text/html"
    assert why in text and f'id="back" href="/office/orders/{oid}"' in text
    assert called == [] and counts(kit) == before


def test_a_partial_cancellation_above_what_is_open_is_refused_with_the_open_amount(office,
                                                                                   kit):
    sign_in(office)
    oid = order_id(kit, "1001")
    act(office, oid, "activate")
    before = counts(kit)
    answer = act(office, oid, "reduce", amount="600,00")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "amount: at most 549.73 EUR is open; 600.00 EUR cannot be cancelled" in text
    assert 'name="amount" inputmode="decimal" required placeholder="10,00" value="600,00"' \
        in text  # the form again, with what was typed
    assert counts(kit) == before
    assert act(office, oid, "reduce", amount="549,73").status_code == 302  # all that is open
    assert '<dd id="open">0.00 EUR</dd>' in office.get(f"/office/orders/{oid}").get_data(
        as_text=True)


@pytest.mark.parametrize(("text", "comma", "minor"), [
    ("1.000,00", True, 100_000), ("1,000.00", False, 100_000), ("10,50", True, 1050),
    ("10.50", True, 1050), ("10,5", False, 1050), ("1000", True, 100_000),
    ("1 000,00", True, 100_000), ("1.234.567,89", True, 123_456_789),
    ("1,234,567.89", False, 123_456_789), ("0,01", True, 1),
])
def test_amounts_are_read_in_the_merchants_notation(text, comma, minor):
    from backoffice.actions import parse_amount

    assert parse_amount(text, "EUR", comma=comma) == minor


@pytest.mark.parametrize(("text", "comma", "message"), [
    ("1.000", True, "'1.000' is ambiguous"), ("1,000", False, "'1,000' is ambiguous"),
    ("1,000.00", True, "not an amount in your notation: type it as 1.000,00"),
    ("1.000,00", False, "not an amount in your notation: type it as 1,000.00"),
    ("10,001", True, "ambiguous"), ("1.2.3", True, "not an amount"), ("ten", True,
                                                                      "not an amount"),
    ("10,555", False, "ambiguous"), ("0,001", True, "ambiguous"), ("1,0000", True,
                                                                  "not an amount"),
    ("-5", True, "only reductions"), ("0", True, "above zero"), ("", True, "type an amount"),
    ("12,3,4", False, "not an amount"), ("1.00.000,00", True, "not an amount"),
])
def test_unclear_amounts_are_refused_naming_the_field(text, comma, message):
    from backoffice.actions import FormError, parse_amount

    with pytest.raises(FormError) as refused:
        parse_amount(text, "EUR", comma=comma)
    assert refused.value.field == "amount" and message in refused.value.message


def test_the_merchants_language_decides_the_notation(office, kit):
    from core.ledger.models import Merchant

    sign_in(office)
    oid = order_id(kit, "1001")
    act(office, oid, "activate")
    assert act(office, oid, "reduce", amount="1.5").status_code == 302  # 1.50, not 15
    answer = act(office, oid, "reduce", amount="1,000.00")  # German: refused, not 1.00
    assert answer.status_code == 400 and "type it as 1.000,00" in answer.get_data(
        as_text=True)
    with session_scope(kit.engine) as session:
        session.get(Merchant, MERCHANT_ID).language = "en"
    assert act(office, oid, "reduce", amount="1,000.00").status_code == 400  # > open
    assert act(office, oid, "reduce", amount="2.25").status_code == 302
    with session_scope(kit.engine) as session:
        assert sorted(session.scalars(select(Invoice.gross).where(
            Invoice.order_id == oid, Invoice.kind == "credit_note")).all()) == [150, 225]


def test_errors_are_pages_with_a_way_back_and_forms_keep_what_was_typed(office, kit):
    sign_in(office)
    oid = order_id(kit, "1001")
    answer = office.post(f"/office/orders/{oid}/activate", data={"csrf": "forged"},
                         headers={"Referer": f"http://localhost/office/orders/{oid}"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and answer.mimetype == "text/html"
    assert "the form has expired" in text and f'id="back" href="http://localhost/office/' \
        f'orders/{oid}"' in text
    missing = office.get("/office/orders/999999")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert 'id="back" href="/office/orders"' in missing.get_data(as_text=True)
    act(office, oid, "activate")
    answer = act(office, oid, "extend", days="abc")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "days: type a number of days, 1 to 90" in text
    assert 'value="abc"' in text and "Confirm: Extend due date" in text
    answer = act(office, oid, "return", **{"units-1": "x", "units-2": "3"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "units-1: type a whole number of units" in text
    assert 'value="x"' in text and 'value="3"' in text
    answer = act(office, oid, "return", **{"units-1": "5"})
    assert answer.status_code == 400 and "at most 2 unit(s) of line 1" in answer.get_data(
        as_text=True)


def test_times_are_shown_in_the_merchants_time_zone(office, kit):
    from core.ledger.models import Merchant

    sign_in(office)
    oid = order_id(kit, "1001")
    with session_scope(kit.engine) as session:
        session.get(Order, oid).updated_at = datetime(2026, 12, 7, 8, 15, tzinfo=UTC)
    assert '<td class="when">2026-12-07 09:15 CET</td>' in office.get(
        "/office/orders").get_data(as_text=True)
    with session_scope(kit.engine) as session:
        Ledger(session).configure_merchant(MERCHANT_ID, time_zone="America/New_York")
        assert session.get(Merchant, MERCHANT_ID).time_zone == "America/New_York"
    assert '<td class="when">2026-12-07 03:15 EST</td>' in office.get(
        "/office/orders").get_data(as_text=True)
    timeline = re.search(r'<table id="timeline">(.*?)</table>', office.get(
        f"/office/orders/{oid}").get_data(as_text=True), re.S).group(1)
    assert "<th>By</th>" in timeline
    assert re.search(r"<td class=.when.>\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T</td>", timeline)


def test_merchants_configure_sets_and_checks_the_time_zone(monkeypatch, database_url, engine,
                                                           tmp_path):
    from click.testing import CliRunner

    from core.ledger.models import Merchant
    from webhooks.cli import main

    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(main, ["merchants", "add", "3333", "--name", "ACME"]).exit_code == 0
    with session_scope(engine) as session:
        assert session.get(Merchant, 3333).time_zone == "Europe/Berlin"
    refused = runner.invoke(main, ["merchants", "configure", "3333", "--time-zone",
                                   "Europe/Atlantis"])
    assert refused.exit_code == 2
    assert "--time-zone" in refused.output and "'Europe/Atlantis' is not a time zone" in \
        refused.output
    done = runner.invoke(main, ["merchants", "configure", "3333", "--time-zone",
                                "Europe/Vienna"])
    assert done.exit_code == 0, done.output
    with session_scope(engine) as session:
        assert session.get(Merchant, 3333).time_zone == "Europe/Vienna"


def _more_orders(kit, count: int, company: str = "Serie") -> None:
    for n in range(count):
        data = order_data(f"5{n:03d}", discounts=[])
        data["buyer"]["company"] = company
        process_snapshot(kit.engine, kit.hooks, load_snapshot(data))


def test_the_orders_list_pages_beyond_fifty_and_exports_csv(office, kit):
    _more_orders(kit, 51, company="=HYPERLINK(\"http://evil.example\")")
    sign_in(office)
    first = office.get("/office/orders").get_data(as_text=True)
    assert first.count('<a href="/office/orders/') == 50
    assert "Page 1" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = office.get("/office/orders?page=2").get_data(as_text=True)
    assert ">1001<" in second and ">1002<" in second and ">2001<" not in second
    assert 'rel="next"' not in second and 'rel="prev"' in second
    assert 'href="/office/orders.csv?q=50"' in office.get(
        "/office/orders?q=50").get_data(as_text=True)
    export = office.get("/office/orders.csv?q=50")  # orders 5000 to 5050
    assert export.mimetype == "text/csv" and "attachment" in export.headers[
        "Content-Disposition"]
    rows = export.get_data(as_text=True).splitlines()
    assert rows[0].startswith("order_number,shop_order_id,shop,buyer,status,total")
    assert len(rows) == 52 and all(",\"'=HYPERLINK(" in row for row in rows[1:])
    everything = office.get("/office/orders.csv").get_data(as_text=True)
    assert "1001," in everything and "2001," not in everything  # only the own merchant's
    only = office.get("/office/orders.csv?status=authorised&q=Beispiel").get_data(
        as_text=True).splitlines()
    assert len(only) == 2 and only[1].startswith("1002,1002,acme,Beispiel,authorised,")


def test_failed_deliveries_page_beyond_fifty(office, kit):
    from core.ledger.models import Delivery

    with session_scope(kit.engine) as session:
        connection = Ledger(session).connection("acme")
        for n in range(53):
            session.add(Delivery(connection_id=connection.id, dedupe_key=f"dead-{n}",
                                 topic="order.updated", shop_order_id=f"9{n:02d}",
                                 headers={}, body=b"{}", status="dead", attempts=8,
                                 error=f"gone {n}"))
    sign_in(office)
    first = office.get("/office/deliveries").get_data(as_text=True)
    assert first.count("Replay</button>") == 50 and 'rel="next"' in first
    second = office.get("/office/deliveries?page=2").get_data(as_text=True)
    assert second.count("Replay</button>") == 3 and "gone 0<" in second


def test_the_chart_reaches_the_longest_payment_term_from_any_weekday(office, kit):
    from backoffice.statements import WEEKS, _chart
    from core.ledger.models import Merchant, Receivable
    from core.statements.build import week_of

    with session_scope(kit.engine) as session:
        merchant = session.get(Merchant, MERCHANT_ID)
        for term in (14, 30, 60, 120):
            merchant.payment_term_days = term
            for n in range(7):  # every weekday
                day = date(2026, 12, 7) + timedelta(days=n)
                weeks = [bar["week"] for bar in _chart(session, MERCHANT_ID, day)]
                assert week_of(day + timedelta(days=term)) in weeks, (term, day)
                assert weeks[WEEKS - 1] == week_of(day)
    sign_in(office)
    act(office, order_id(kit, "1001"), "activate")
    with session_scope(kit.engine) as session:  # installments: the last one due later
        session.get(Merchant, MERCHANT_ID).payment_term_days = 30
        session.scalars(select(Receivable)).one().due_on = FIXED.date() + timedelta(days=95)
    page = office.get("/office/statements").get_data(as_text=True)
    assert f"{week_of(FIXED.date() + timedelta(days=95))}: paid 0.00 EUR, open 549.73 EUR" \
        in page


def test_drift_and_dead_writebacks_are_shown_per_shop_and_on_the_order(office, kit):
    from core.ledger.models import OrderDrift, WriteBackRecord

    oid, foreign = order_id(kit, "1001"), order_id(kit, "2001")
    with session_scope(kit.engine) as session:
        for key, shop_order, connection in (("mine", "1001", "acme"),
                                            ("theirs", "2001", "other")):
            connection_id = Ledger(session).connection(connection).id
            session.add(OrderDrift(connection_id=connection_id, shop_order_id=shop_order,
                                   order_number=shop_order, key="status_differs",
                                   kind="status_differs", shop=f"completed ({key})",
                                   kit="declined", seen=3,
                                   first_seen_at=datetime(2026, 12, 1, 7, 0, tzinfo=UTC)))
            session.add(WriteBackRecord(
                connection_id=connection_id, order_id=oid if key == "mine" else foreign,
                event="activated", note="n", values={}, idempotency_key=f"wb-{key}",
                status="dead", attempts=8, error=f"shop said 401 <{key}>"))
    sign_in(office)
    page = office.get("/office/shops").get_data(as_text=True)
    drift = re.search(r'<table id="drift">(.*?)</table>', page, re.S).group(1)
    assert "completed (mine)" in drift and "status differs" in drift
    assert "2026-12-01 08:00 CET" in drift and f'href="/office/orders/{oid}"' in drift
    assert "theirs" not in page
    assert "shop said 401 &lt;mine&gt;" in page
    assert re.search(r"<td>acme</td><td>woocommerce</td><td>local</td><td class=\"num\">1</td>"
                     r"<td class=\"num\">1</td>", page)
    order_page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert 'id="order-drift"' in order_page and "completed (mine)" in order_page
    assert "shop said 401 &lt;mine&gt;" in order_page


def test_a_billie_order_shows_its_invoice_numbers_credit_notes_and_pay_to(office, kit):
    from core.ledger.models import OperationRecord, WriteBackRecord

    oid = order_id(kit, "1002")
    with session_scope(kit.engine) as session:  # what the Billie plugin's results leave
        order = session.get(Order, oid)
        order.provider, order.provider_reference = "billie", "ORDER-UUID-1"
        for n, (kind, gross, number, ref) in enumerate((
                ("activation", 549_73, "1002", "INVOICE-UUID-1"),
                ("partial_credit", 10_00, "1002-CN-1", "CN-UUID-1"))):
            session.add(OperationRecord(
                order_id=oid, kind=kind, source="shop", idempotency_key=f"billie-{n}",
                after_activation=kind != "activation", gross=gross, net=gross, tax=0,
                status="succeeded", provider_reference=ref, document_number=number))
        session.add(WriteBackRecord(
            connection_id=order.connection_id, order_id=oid, event="authorised", note="n",
            idempotency_key="billie-wb", status="done",
            values={"provider": "billie", "iban": "DE12500105170648489890",
                    "bic": "INGDDEFFXXX"}))
    sign_in(office)
    page = office.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert "billie · ORDER-UUID-1" in page
    documents = re.search(r'<table id="documents">(.*?)</table>', page, re.S).group(1)
    assert "<td>invoice</td><td>1002</td><td class=\"num\">549.73</td><td>INVOICE-UUID-1" \
        in documents
    assert "<td>credit note</td><td>1002-CN-1</td><td class=\"num\">10.00</td>" in documents
    assert re.search(r'<dd id="pay-to">DE12500105170648489890 \(BIC INGDDEFFXXX\).*billie',
                     page)
