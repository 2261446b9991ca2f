"""Charges of default are receivables of their own: a payment covers costs, then interest,
then principal (§ 367 BGB); they show in ``dunning show``, ``orders show``, the statement,
the hand-over and the write-back; a waiver is recorded; a bank return reopens them."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import pytest
import time_machine
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.cli import main
from core.ledger.db import session_scope
from core.ledger.models import Buyer, Charge, Movement, Payment, Receivable, WriteBackRecord
from core.ledger.store import Ledger
from core.order_details import order_details
from core.payments.booking import book_transaction
from core.payments.matching import Matcher
from core.payments.transactions import BankTransaction
from core.receivables.charges import waive
from core.statements.build import build_statement, week_of
from timeline import DAY0, at, receivable, run, steps

# with a 7-day term the day-10 letter (received day 13) puts the buyer in default from day
# 14; the day-20 letter claims 1,190.00 + 40.00 flat fee + 2.01 interest (days 14 to 19)
PRINCIPAL, FEE, INTEREST = 119_000, 4_000, 201
LETTER = PRINCIPAL + FEE + INTEREST


@pytest.fixture
def charged(engine, buy, tick, configure):
    """Order 1001, unpaid until the day-20 letter claimed the charges."""
    configure(payment_term_days=7)
    buy()
    run(tick, 0, 20)
    with session_scope(engine, write=False) as session:
        notice = session.scalars(select(Receivable)).one().steps[-1].notice
    assert (notice["kind"], notice["principal"], notice["fee"], notice["interest"]) == (
        "final", PRINCIPAL, FEE, INTEREST)
    return "1001"


def transfer(engine, amount: int, day: int, key: str, *, credit: bool = True,
             reversal: bool = False, e2e: str | None = None) -> str:
    """A bank transfer naming the order's reference, booked as an import does on ``day``."""
    with time_machine.travel(at(day, 8), tick=False), session_scope(engine) as session:
        return book_transaction(Ledger(session), Matcher(session), BankTransaction(
            key=key, account_iban="DE02100200300000000001", amount=amount, currency="EUR",
            credit=credit, reversal=reversal, booked_on=DAY0 + timedelta(days=day),
            credited_iban=None, debtor_name="Muster Bürobedarf GmbH",
            debtor_iban="DE89370400440532013000", remittance=("BP1001/3333",),
            creditor_reference=None, end_to_end_id=e2e or f"E2E-{key}"), "test")[0]


def charges(engine) -> dict[str, tuple[int, int, int]]:
    """kind -> (claimed, paid, waived)."""
    with session_scope(engine, write=False) as session:
        return {c.kind: (c.claimed, c.paid, c.waived) for c in session.scalars(select(Charge))}


def parts(engine) -> list[tuple[str, int]]:
    with session_scope(engine, write=False) as session:
        return [(p.part, p.amount) for p in session.scalars(select(Payment).order_by(Payment.id))]


def buyer_credit(engine) -> int:
    with session_scope(engine, write=False) as session:
        return session.scalar(select(Buyer.credit))


def details(engine, order_id: str = "1001") -> dict:
    with session_scope(engine, write=False) as session:
        ledger = Ledger(session)
        return order_details(ledger, ledger.find_order("acme", order_id))


def test_paying_what_the_letter_asks_settles_invoice_and_charges_with_no_credit_left(
        engine, charged, tmp_path):
    assert charges(engine) == {"fee": (FEE, 0, 0), "interest": (INTEREST, 0, 0)}
    assert transfer(engine, LETTER, 22, "t1") == "booked"
    assert charges(engine) == {"fee": (FEE, FEE, 0), "interest": (INTEREST, INTEREST, 0)}
    assert parts(engine) == [("fee", FEE), ("interest", INTEREST), ("principal", PRINCIPAL)]
    r = receivable(engine)
    assert (r.status, r.open_amount, r.next_step_on) == ("settled", 0, None)
    assert buyer_credit(engine) == 0

    statement = build_statement(engine, 3333, week_of(DAY0 + timedelta(days=22)), tmp_path)
    rows = list(csv.DictReader(statement.csv_path.open(encoding="utf-8")))
    received = [(row["line_type"], row["gross_amount"]) for row in rows
                if row["line_type"] in ("payment", "charges_received")]
    assert received == [("charges_received", "40.00"), ("charges_received", "2.01"),
                        ("payment", "1190.00")]
    totals = {row["line_type"]: row["gross_amount"] for row in rows
              if row["line_type"].startswith("total:")}
    assert totals["total:charges_received"] == "42.01"
    assert totals["total:payment"] == "1190.00"
    # the claims themselves are in the week they were made (day 20, a Sunday)
    claimed = build_statement(engine, 3333, week_of(DAY0 + timedelta(days=20)), tmp_path)
    lines = {row["line_type"]: row["gross_amount"]
             for row in csv.DictReader(claimed.csv_path.open(encoding="utf-8"))}
    assert (lines["dunning_fee"], lines["default_interest"]) == ("40.00", "2.01")


def test_a_part_payment_goes_to_costs_then_interest_then_principal(engine, charged, tick):
    assert transfer(engine, 5_000, 22, "t1") == "booked"
    assert parts(engine) == [("fee", FEE), ("interest", INTEREST), ("principal", 799)]
    r = receivable(engine)
    assert (r.status, r.open_amount) == ("open", PRINCIPAL - 799)
    d = details(engine)
    assert (d["paid"], d["charges"], d["charges_open"], d["open"]) == (
        "50.00", "42.01", "0.00", "1182.01")
    # paying the principal (the 1,190.00 invoiced) still leaves 7.99 open: § 367 BGB
    assert transfer(engine, PRINCIPAL, 23, "t2") == "booked"
    assert receivable(engine).open_amount == 0 and buyer_credit(engine) == 799


def test_dunning_show_and_orders_show_carry_the_charges(engine, charged, database_url,
                                                        monkeypatch, tmp_path):
    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")
    runner = CliRunner()
    shown = runner.invoke(main, ["dunning", "show", "acme", "1001"]).output
    assert "flat fee claimed 40.00 EUR, paid 0.00 EUR, open 40.00 EUR" in shown
    assert "default interest claimed 2.01 EUR, paid 0.00 EUR, open 2.01 EUR" in shown
    transfer(engine, 20_000, 22, "t1")
    text = runner.invoke(main, ["orders", "show", "acme", "1001"]).output
    assert "invoiced 1190.00, credited 0.00, paid 200.00, charges 42.01 (paid 42.01), " \
           "open 1032.01 EUR" in text
    data = json.loads(runner.invoke(main, ["orders", "show", "acme", "1001", "--json"]).output)
    assert {k: data[k] for k in ("invoiced", "credited", "paid", "charges", "charges_paid",
                                 "charges_open", "open")} == {
        "invoiced": "1190.00", "credited": "0.00", "paid": "200.00", "charges": "42.01",
        "charges_paid": "42.01", "charges_open": "0.00", "open": "1032.01"}


def test_orders_show_of_a_paid_and_a_partly_paid_order(engine, buy):
    buy("1001")
    buy("1002")
    assert details(engine, "1001")["paid"] == "0.00"
    with session_scope(engine) as session:
        ledger = Ledger(session)
        from core.receivables.book import record_payment

        record_payment(ledger, ledger.find_order("acme", "1001"), PRINCIPAL,
                       booked_on=DAY0, reference=None, source="test", key="a")
        record_payment(ledger, ledger.find_order("acme", "1002"), 40_000,
                       booked_on=DAY0, reference=None, source="test", key="b")
    paid, part = details(engine, "1001"), details(engine, "1002")
    assert (paid["invoiced"], paid["paid"], paid["charges"], paid["open"]) == (
        "1190.00", "1190.00", "0.00", "0.00")
    assert (part["invoiced"], part["paid"], part["open"]) == ("1190.00", "400.00", "790.00")
    with session_scope(engine, write=False) as session:
        values = [w.values for w in session.scalars(select(WriteBackRecord).where(
            WriteBackRecord.event == "paid").order_by(WriteBackRecord.id))]
    assert [(v["paid_amount"], v["open_amount"], v.get("state")) for v in values] == [
        ("1190.00", "0.00", "paid"), ("400.00", "790.00", "active")]


def test_a_waiver_is_recorded_and_no_more_charges_are_claimed(engine, charged, tick, tmp_path):
    with session_scope(engine) as session:
        ledger = Ledger(session)
        with pytest.raises(Exception, match="needs a reason"):
            waive(ledger, ledger.find_order("acme", "1001"), " ", DAY0)
        assert waive(ledger, ledger.find_order("acme", "1001"), "good customer",
                     DAY0 + timedelta(days=21)) == FEE + INTEREST
    assert charges(engine) == {"fee": (FEE, 0, FEE), "interest": (INTEREST, 0, INTEREST)}
    with session_scope(engine, write=False) as session:
        assert session.scalar(select(func.sum(Movement.amount)).where(
            Movement.kind == "charge_waiver")) == -(FEE + INTEREST)
    run(tick, 21, 40)  # the hand-over claims nothing more
    assert charges(engine) == {"fee": (FEE, 0, FEE), "interest": (INTEREST, 0, INTEREST)}
    [handover] = (tmp_path / "collection").glob("*.csv")
    [row] = list(csv.DictReader(handover.open(encoding="utf-8")))
    assert (row["principal"], row["fee"], row["interest"]) == ("1190.00", "0.00", "0.00")


def test_the_hand_over_claims_the_charges_still_open(engine, charged, tick, tmp_path):
    transfer(engine, FEE, 21, "t1")  # the buyer pays the fee only
    run(tick, 21, 40)
    [handover] = (tmp_path / "collection").glob("*.csv")
    [row] = list(csv.DictReader(handover.open(encoding="utf-8")))
    fee, interest = charges(engine)["fee"], charges(engine)["interest"]
    assert fee == (FEE, FEE, 0)  # claimed once per invoice, paid
    assert row["fee"] == "0.00" and row["interest"] == f"{interest[0] / 100:.2f}"
    assert interest[0] > INTEREST  # interest went on growing until the hand-over
    assert row["principal"] == "1190.00"


def test_a_bank_return_reopens_the_charges_and_dunning_goes_on_without_repeating(
        engine, charged, tick, tmp_path):
    assert transfer(engine, LETTER, 22, "t1") == "booked"
    assert receivable(engine).status == "settled"
    before = steps(engine)[1]
    assert transfer(engine, LETTER, 24, "r1", credit=False, reversal=True,
                    e2e="E2E-t1") == "booked"
    assert charges(engine) == {"fee": (FEE, 0, 0), "interest": (INTEREST, 0, 0)}
    r = receivable(engine)
    assert (r.status, r.open_amount) == ("open", PRINCIPAL)
    assert buyer_credit(engine) == 0
    run(tick, 24, 40)
    after = steps(engine)[1]
    assert after[:len(before)] == before  # nothing sent again
    assert [s[0] for s in after[len(before):]] == ["handover"]
    # on its planned day (day 30 of the purchase, after the deadline the day-20 letter set)
    assert after[-1][1] == 30
    [handover] = (tmp_path / "collection").glob("*.csv")
    [row] = list(csv.DictReader(handover.open(encoding="utf-8")))
    assert row["fee"] == "40.00" and float(row["interest"]) >= 2.01


def test_a_payment_returned_after_the_planned_hand_over_is_dunned_before_it_is_handed_over(
        engine, buy, tick, tmp_path):
    """Paid on day 25 (before the due date), returned by the bank on day 45: the claim
    is overdue now, but the buyer was never dunned; it gets the announcing letter first,
    and the hand-over waits for the 7 days the letter gives."""
    buy()
    run(tick, 0, 25)
    assert transfer(engine, PRINCIPAL, 25, "t1") == "booked"
    run(tick, 26, 44)
    assert [s[0] for s in steps(engine)[1]] == ["call", "reminder", "letter_1"]
    assert transfer(engine, PRINCIPAL, 45, "r1", credit=False, reversal=True,
                    e2e="E2E-t1") == "booked"
    run(tick, 45, 60)
    assert [(s[0], s[1]) for s in steps(engine)[1]] == [
        ("call", 1), ("reminder", 5), ("letter_1", 10), ("letter_2", 45), ("handover", 53)]
    with session_scope(engine, write=False) as session:
        letter = session.scalars(select(Receivable)).one().steps[3].notice
    assert letter["kind"] == "final" and letter["fee"] == 0  # not in default before it


@given(principal=st.integers(0, 10**9), fee=st.integers(0, 10**6),
       interest=st.integers(0, 10**7), paid_fee=st.integers(0, 10**6),
       amount=st.integers(0, 2 * 10**9))
def test_a_payment_is_split_costs_interest_principal_to_the_cent(principal, fee, interest,
                                                                 paid_fee, amount):
    from core.ledger.models import Receivable as Row
    from core.receivables.charges import split

    paid_fee = min(paid_fee, fee)
    receivable = Row(gross=principal, credited=0, paid=0, currency="EUR")
    receivable.charges = [Charge(kind="fee", claimed=fee, paid=paid_fee, waived=0),
                          Charge(kind="interest", claimed=interest, paid=0, waived=0)]
    parts = split(receivable, amount)
    owed = principal + fee - paid_fee + interest
    assert sum(take for _, _, take in parts) == min(amount, owed)
    assert [part for part, _, _ in parts] == [
        part for part, open_ in (("fee", fee - paid_fee), ("interest", interest),
                                 ("principal", principal)) if open_][:len(parts)]
    for n, (_part, charge, take) in enumerate(parts):
        assert take > 0
        assert take <= (principal if charge is None else charge.open)
        if n < len(parts) - 1:  # every part but the last is paid in full
            assert take == (principal if charge is None else charge.open)
