"""Weekly statements: every movement of the week, totals that add up to the cent against
the journal and the ledger, CSV and PDF, built on demand and each Monday."""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import func, select

from conftest import MERCHANT_ID
from core.errors import ConfigurationError
from core.ledger.db import session_scope
from core.ledger.models import Invoice, Movement, Payment
from core.ledger.store import Ledger
from core.money import percent_of
from core.payments.booking import book_transaction
from core.payments.matching import Matcher
from core.payments.transactions import BankTransaction
from core.receivables.book import record_payment
from core.schemas import load_snapshot
from core.statements.build import (
    COLUMNS,
    LINE_TYPES,
    build_last_week,
    build_statement,
    parse_week,
    week_of,
)
from orders import order_data
from timeline import CART, DAY0, at

WEEK = "2026-W10"  # DAY0, Monday 2 March 2026, to Sunday 8 March


def _money(text: str) -> int:
    return int(Decimal(text) * 100) if text else 0


@pytest.fixture
def week(engine, buy, feed):
    """A week with two activations, a credit note, a bank payment, a direct payment to the
    merchant, an over-payment; and an activation the next Monday, outside it."""
    buy("1001", activate_on=0)
    buy("1002", activate_on=1)
    with time_machine.travel(at(2), tick=False):
        refund = {"refund_id": "r1", "amount": "119.00", "reason": "damaged"}
        feed(load_snapshot(order_data("1002", lines=CART, discounts=[], status="completed",
                                      refunds=[refund], ordering_key=at(2).isoformat())))
    with time_machine.travel(at(3), tick=False), session_scope(engine) as session:
        ledger = Ledger(session)
        record_payment(ledger, ledger.find_order("acme", "1002"), 50_000,
                       booked_on=DAY0 + timedelta(days=3), reference=None, source="direct",
                       key="direct-1")
    with time_machine.travel(at(4), tick=False), session_scope(engine) as session:
        transfer = BankTransaction(
            key="bank-1", account_iban="DE02100200300000000001", amount=180_000,
            currency="EUR", credit=True, reversal=False, booked_on=DAY0 + timedelta(days=4),
            debtor_name="Muster", remittance=("BP1001/3333",))
        book_transaction(Ledger(session), Matcher(session), transfer, "day3.xml")
    buy("1003", activate_on=7)


def _sums(engine) -> dict[str, int]:
    start = at(0, 0)
    with session_scope(engine, write=False) as session:
        return {kind: int(total) for kind, total in session.execute(
            select(Movement.kind, func.sum(Movement.amount)).where(
                Movement.occurred_at >= start, Movement.occurred_at < start + timedelta(days=7))
            .group_by(Movement.kind))}


def test_the_statement_adds_up_to_the_cent_against_the_journal(engine, week, tmp_path):
    statement = build_statement(engine, MERCHANT_ID, WEEK, tmp_path)
    with statement.csv_path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS
    lines = [r for r in rows if not r["line_type"].startswith("total")]
    totals = {r["line_type"][len("total:"):]: r for r in rows
              if r["line_type"].startswith("total:")}
    assert len(lines) == statement.rows
    assert {r["period_start"] for r in rows} == {"2026-03-02"}
    activated = {r["merchant_order_ref"] for r in lines if r["line_type"] == "activation"}
    assert activated == {"1001", "1002"}  # 1003 is activated next Monday

    journal = _sums(engine)
    # every kind of the journal's week is on the statement, each to the cent
    for kind, total in journal.items():
        line_type, shown, _ = LINE_TYPES[kind]
        column = {"fee": "fee_amount", "fee_vat": "vat_on_fee"}.get(kind, "gross_amount")
        assert sum(_money(r[column]) for r in lines if r["line_type"] == line_type) \
            == (total if column != "gross_amount" else shown * total), kind

    # and against the ledger's own documents and payments
    with session_scope(engine, write=False) as session:
        invoiced = session.scalar(select(func.sum(Invoice.gross)).where(
            Invoice.kind == "invoice", Invoice.issued_on < DAY0 + timedelta(days=7)))
        credited = session.scalar(select(func.sum(Invoice.gross)).where(
            Invoice.kind == "credit_note"))
        paid = session.scalar(select(func.sum(Payment.amount)).where(Payment.source == "bank"))
    assert _money(totals["activation"]["gross_amount"]) == invoiced == 238_000
    assert _money(totals["credit_note"]["gross_amount"]) == -credited == -11_900
    assert _money(totals["payment"]["gross_amount"]) == paid == 119_000 + 57_100
    assert _money(totals["buyer_credit"]["gross_amount"]) == 3_900
    assert _money(totals["direct_customer_payment"]["gross_amount"]) == 50_000
    fee = percent_of(119_000, Decimal("6.99")) + percent_of(119_000 - 11_900, Decimal("6.99"))
    assert _money(totals["fee"]["fee_amount"]) == fee
    payout = 238_000 - 11_900 - 50_000 - fee
    assert _money(totals["payout"]["net_amount"]) == payout == statement.totals.payout("EUR")
    assert sum(_money(r["net_amount"]) for r in lines) == payout
    activation = next(r for r in lines if r["line_type"] == "activation")
    assert (activation["activation_date"], activation["due_date"], activation["buyer_country"]) \
        == ("2026-03-02", "2026-04-01", "DE")

    text = "\n".join(page.extract_text() for page in PdfReader(statement.pdf_path).pages)
    assert "statement 2026-W10" in text and "payout for the week" in text
    assert f"{Decimal(payout) / 100:.2f}" in text


def test_an_empty_week_still_gives_both_files(engine, shop, tmp_path):
    statement = build_statement(engine, MERCHANT_ID, "2026-W20", tmp_path)
    assert statement.rows == 0
    assert "No movements" in PdfReader(statement.pdf_path).pages[0].extract_text()
    assert statement.csv_path.read_text().splitlines() == [",".join(COLUMNS)]


def test_weeks_are_read_and_refused_clearly():
    assert parse_week("2026-W47") == (DAY0.replace(month=11, day=16),
                                       DAY0.replace(month=11, day=22))
    assert week_of(DAY0) == WEEK
    for wrong in ("2026-47", "2026-W54", "last week"):
        with pytest.raises(ConfigurationError, match="ISO week"):
            parse_week(wrong)


def test_each_monday_last_weeks_statements_are_built_once(engine, week, tmp_path):
    built = build_last_week(engine, tmp_path, today=DAY0 + timedelta(days=7))
    assert [(s.merchant_id, s.week) for s in built] == [(MERCHANT_ID, WEEK)]
    assert build_last_week(engine, tmp_path, today=DAY0 + timedelta(days=8)) == []


def test_the_worker_builds_statements_on_mondays_at_four(kit):
    from datetime import datetime

    def due(day: int, hour: int) -> set[str]:
        return {t.name for t in kit.queue.huey.read_periodic(datetime(2026, 3, day, hour))}

    assert "weekly_statements" in due(2, 4)  # Monday 2 March 2026
    assert "weekly_statements" not in due(3, 4) and "weekly_statements" not in due(2, 5)


def test_times_and_days_written_by_the_database_are_those_of_the_row_by_row_path(
        engine, week, tmp_path):
    """The statement reads its times and days as text the database writes (``to_char``
    on PostgreSQL, cut from SQLite's stored text): the CSV's rows are those the
    row-by-row path writes from the values read as ``datetime`` and ``date``, for times
    with any fraction of a second (cut, never rounded) and the document's days."""
    import io

    from core.ledger.models import Merchant
    from core.spreadsheet import safe_cell
    from core.spreadsheet import writer as csv_writer
    from core.statements.build import _csv_values, statement_rows

    with session_scope(engine) as session:  # fractions a rounding would carry over
        for n, movement in enumerate(session.scalars(select(Movement).order_by(Movement.id))):
            movement.occurred_at += timedelta(microseconds=(999_999, 500_000, 1, 0)[n % 4])
    statement = build_statement(engine, MERCHANT_ID, WEEK, tmp_path)
    monday, sunday = parse_week(WEEK)
    expected = io.StringIO()
    writer = csv_writer(expected)
    writer.writerow(COLUMNS)
    with session_scope(engine, write=False) as session:
        merchant = session.get(Merchant, MERCHANT_ID)
        fee_pct = str(safe_cell(str(merchant.fee_percent)))
        for row in statement_rows(session, merchant, monday):
            writer.writerow(_csv_values(row, (monday, sunday), fee_pct))
    written = statement.csv_path.read_bytes().decode("utf-8").splitlines(keepends=True)
    assert "".join(written[:statement.rows + 1]) == expected.getvalue()
    assert statement.rows > 5
