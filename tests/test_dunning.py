"""Receivables management, time-travelled: the daily tick from the purchase on, twice a day."""

from __future__ import annotations

import csv
import email
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import select

from conftest import MERCHANT_ID
from core import hookimpl
from core.ledger.db import session_scope
from core.ledger.models import (
    Charge,
    DunningStep,
    Merchant,
    OperationRecord,
    Order,
    Receivable,
)
from core.ledger.store import Ledger
from core.receivables.book import choose_policy, record_payment, stop_dunning
from core.receivables.tick import DailyTick
from core.state import Status
from timeline import DAY0, at, receivable, run, steps, taken


def pay(engine, order_id, amount, day):
    with session_scope(engine) as session:
        ledger = Ledger(session)
        record_payment(ledger, ledger.find_order("acme", order_id), amount,
                       booked_on=DAY0 + timedelta(days=day), reference=f"BP{order_id}/3333",
                       source="test", key=f"pay-{order_id}-{day}")


def test_paid_on_day_7_gets_only_the_call_and_the_day_5_reminder(engine, buy, tick, tmp_path):
    buy()
    run(tick, 0, 40, each_day=lambda day: day == 7 and pay(engine, "1001", 119000, 7))
    assert taken(engine) == {1: [("call", 1), ("reminder", 5)]}
    assert receivable(engine).status == "settled"
    assert receivable(engine).next_step_on is None
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert not (tmp_path / "letters").exists()


def test_unpaid_order_runs_the_whole_default_policy(engine, buy, tick, tmp_path):
    buy()
    run(tick, 0, 40)
    # with the default 30-day term the day-20 letter would dun a claim not yet due: it goes
    # out the day after the due date (day 31), and the hand-over waits for the 7 days it
    # gives (day 39)
    assert taken(engine) == {1: [("call", 1), ("reminder", 5), ("letter_1", 10),
                                 ("letter_2", 31), ("handover", 39)]}
    r = receivable(engine)
    assert r.status == "handed_over" and r.handover_batch_id is not None
    assert sorted(p.name for p in (tmp_path / "letters").glob("*.pdf")) == [
        f"r{r.id}-letter_1.pdf", f"r{r.id}-letter_2.pdf"]
    [handover] = (tmp_path / "collection").glob("*.csv")
    [row] = list(csv.DictReader(handover.open(encoding="utf-8")))
    assert row["order_id"] == "1001" and row["principal"] == "1190.00"
    assert row["payment_reference"] == "BP1001/3333"
    # the day-31 letter, received on day 34, put the buyer in default from day 35: the
    # hand-over claims the flat fee and 4 days of interest at 10.27 %
    interest = Decimal(119000) * Decimal("10.27") / 100 * 4 / 365
    assert (row["fee"], row["interest"], row["total"]) == (
        "40.00", "1.34", "1231.34") and int(interest.quantize(Decimal(1))) == 134
    assert row["reminders"].split() == [(DAY0 + timedelta(days=d)).isoformat()
                                        for d in (5, 10, 31)]
    with session_scope(engine, write=False) as session:
        assert {s.notice["fee"] for s in session.scalars(select(DunningStep))
                if s.notice} == {0}  # no notice charged: the last came before default
        assert {(c.kind, c.claimed, c.paid) for c in session.scalars(select(Charge))} == {
            ("fee", 4000, 0), ("interest", 134, 0)}


def test_auto_cancel_cancels_the_unpaid_order_after_30_days(engine, buy, tick, tmp_path, read):
    with session_scope(engine) as session:
        choose_policy(Ledger(session), MERCHANT_ID, final="cancel")
    buy()
    run(tick, 0, 40)
    assert taken(engine) == {1: [("call", 1), ("reminder", 5), ("letter_1", 10),
                                 ("letter_2", 31), ("cancel", 39)]}
    assert receivable(engine).status == "cancelled"
    order = read(lambda ledger: ledger.find_order("acme", "1001"))
    assert order.status == Status.CREDITED.value and order.credited == 119000
    with session_scope(engine, write=False) as session:
        [credit] = session.scalars(select(OperationRecord).where(
            OperationRecord.kind == "full_credit")).all()
        assert (credit.source, credit.status) == ("dunning:full_credit", "succeeded")
    cancellation = email.message_from_bytes(
        next((tmp_path / "outbox").glob("*-cancel.eml")).read_bytes())
    assert cancellation["To"] == "einkauf@muster.example"
    assert not (tmp_path / "collection").exists()


def test_merchant_stopping_on_day_12_ends_the_procedure(engine, buy, tick):
    buy()

    def stop(day):
        if day == 12:
            with session_scope(engine) as session:
                ledger = Ledger(session)
                stop_dunning(ledger, ledger.find_order("acme", "1001"), "merchant")

    run(tick, 0, 40, each_day=stop)
    assert taken(engine) == {1: [("call", 1), ("reminder", 5), ("letter_1", 10)]}
    assert receivable(engine).status == "stopped"


def test_three_installments_each_run_their_own_procedure(engine, buy, tick, configure,
                                                         tmp_path):
    configure(payment_term_days=14, installment_interval_days=10)
    buy(installments=3)
    run(tick, 0, 55)
    # installment n counts from day 10 (n - 1): its due date is day 14 + 10 (n - 1), the
    # e-mail 5 days before it; hand-over on day 30 of its period, after its due date
    assert taken(engine) == {
        1: [("call", 1), ("reminder", 5), ("installment_upcoming", 9), ("letter_1", 10),
            ("letter_2", 20), ("handover", 30)],
        2: [("call", 11), ("reminder", 15), ("installment_upcoming", 19), ("letter_1", 20),
            ("letter_2", 30), ("handover", 40)],
        3: [("call", 21), ("reminder", 25), ("installment_upcoming", 29), ("letter_1", 30),
            ("letter_2", 40), ("handover", 50)],
    }
    with session_scope(engine, write=False) as session:
        rows = session.scalars(select(Receivable).order_by(Receivable.installment)).all()
        assert [(r.gross, (r.due_on - DAY0).days) for r in rows] == [
            (39667, 14), (39667, 24), (39666, 34)]
        upcoming = session.scalars(select(DunningStep).where(
            DunningStep.step_id == "installment_upcoming")).all()
        assert {s.notice["kind"] for s in upcoming} == {"upcoming"}
        assert {s.notice["fee"] + s.notice["interest"] for s in upcoming} == {0}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 6


def test_an_order_never_activated_is_cancelled_after_two_months_once(engine, hooks, buy, tick,
                                                                     read):
    heard = []

    class Shop:
        @hookimpl
        def operation_succeeded(self, order, operation, result):
            heard.append(operation.source)

    buy(activate_on=None)
    hooks.pm.register(Shop())
    run(tick, 0, 70)
    order = read(lambda ledger: ledger.find_order("acme", "1001"))
    assert order.status == Status.VOIDED.value
    assert heard == ["expiry:full_credit"]
    with session_scope(engine, write=False) as session:
        assert session.scalars(select(OperationRecord.source).where(
            OperationRecord.kind == "full_credit")).all() == ["expiry:full_credit"]
        assert session.scalars(select(Order.updated_at)).one().date() == date(2026, 5, 3)


def test_fee_and_interest_only_once_the_buyer_is_in_default(engine, buy, tick, configure,
                                                            tmp_path):
    configure(payment_term_days=7)  # due on day 7: the letters go out after it
    buy()
    run(tick, 0, 20)
    with session_scope(engine, write=False) as session:
        notices = {s.step_id: s.notice for s in session.scalars(select(DunningStep))
                   if s.notice}
    # the day-5 reminder is before the due date; the day-10 letter, received 3 days later,
    # puts the buyer in default from day 14: neither may charge anything
    for step in ("reminder", "letter_1"):
        assert (notices[step]["fee"], notices[step]["interest"]) == (0, 0)
    assert notices["reminder"]["kind"] == "upcoming"
    final = notices["letter_2"]
    interest = Decimal(119000) * Decimal("10.27") / 100 * 6 / 365  # days 14 to 19
    assert final["fee"] == 4000
    assert final["interest"] == int(interest.quantize(Decimal(1))) == 201  # 2.01 EUR
    assert (final["interest_rate"], final["interest_from"]) == ("10.27", "2026-03-16")
    r = receivable(engine)
    letter = PdfReader(tmp_path / "letters" / f"r{r.id}-letter_2.pdf")
    text = " ".join(page.extract_text() for page in letter.pages)
    for expected in ("40,00", "2,01", "1.232,01", "BP1001/3333", "10,27 %",
                     "16. März 2026"):
        assert expected in text
    first = PdfReader(tmp_path / "letters" / f"r{r.id}-letter_1.pdf")
    first_text = " ".join(page.extract_text() for page in first.pages)
    assert "1.190,00" in first_text and "40,00" not in first_text
    reminder = email.message_from_bytes(
        (tmp_path / "outbox" / f"r{r.id}-reminder.eml").read_bytes())
    body = reminder.get_payload(decode=True).decode()
    assert "BP1001/3333" in body and "1.190,00" in body
    assert _grouped(_iban(engine)) in body


def _iban(engine):
    with session_scope(engine, write=False) as session:
        return session.scalars(select(Receivable)).first().invoice.iban


def _grouped(iban: str) -> str:
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def test_the_merchant_choice_closes_7_days_after_the_first_invoice(engine, buy, tick):
    buy()
    run(tick, 0, 8)
    with session_scope(engine, write=False) as session:
        merchant = session.get(Merchant, MERCHANT_ID)
        assert merchant.dunning_policy_set_by == "default"
    with session_scope(engine) as session, pytest.raises(Exception, match="no longer"):
        choose_policy(Ledger(session), MERCHANT_ID, final="cancel",
                      today=DAY0 + timedelta(days=8))


def test_the_worker_runs_the_tick_once_a_day_at_the_configured_time(kit, tmp_path):
    from dataclasses import replace

    from core.errors import ConfigurationError
    from core.kit import Kit

    def due_at(k, hour, minute=0):
        return {t.name for t in k.queue.huey.read_periodic(datetime(2026, 3, 2, hour, minute))}

    assert "dunning_tick" in due_at(kit, 6) and "dunning_tick" not in due_at(kit, 7)
    later = Kit.create(replace(kit.settings, dunning={"run_at": "22:30"}))
    assert "dunning_tick" in due_at(later, 22, 30) and "dunning_tick" not in due_at(later, 6)
    with pytest.raises(ConfigurationError, match="run_at"):
        Kit.create(replace(kit.settings, dunning={"run_at": "25:00"}))


class WorkerDied(BaseException):
    """What a killed worker looks like to the code it was running: nothing after it runs."""


def test_a_tick_that_dies_midway_repeats_nothing_when_run_again(engine, buy, tick, tmp_path,
                                                                monkeypatch):
    from core.receivables import collection
    from core.receivables.mail import Outbox

    buy()
    run(tick, 0, 4)
    send = Outbox.send_email
    monkeypatch.setattr(Outbox, "send_email", lambda *a, **k: (_ for _ in ()).throw(
        WorkerDied()))
    with time_machine.travel(at(5, 6), tick=False), pytest.raises(WorkerDied):
        tick.run(DAY0 + timedelta(days=5))  # the reminder is decided, then the worker dies
    monkeypatch.setattr(Outbox, "send_email", send)
    run(tick, 5, 30)
    calls: list[int] = []
    handover = collection.handover_to_collection

    def dies_once(**kwargs):
        calls.append(kwargs["batch_id"])
        if len(calls) == 1:
            raise WorkerDied()
        return handover(**kwargs)

    monkeypatch.setattr(tick.hooks.pm.hook, "handover_to_collection", dies_once)
    run(tick, 31, 38)
    with time_machine.travel(at(39, 6), tick=False), pytest.raises(WorkerDied):
        tick.run(DAY0 + timedelta(days=39))
    run(tick, 39, 45)
    assert calls[0] == calls[1] and len(calls) == 2  # the same batch, acknowledged once
    assert taken(engine) == {1: [("call", 1), ("reminder", 5), ("letter_1", 10),
                                 ("letter_2", 31), ("handover", 39)]}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert len(list((tmp_path / "collection").glob("*.csv"))) == 1
    with session_scope(engine, write=False) as session:
        assert {s.status for s in session.scalars(select(DunningStep))} <= {"done", "open"}


def test_reminders_go_out_over_smtp_when_configured(engine, buy, hooks, tmp_path):
    from contextlib import contextmanager

    from core.receivables.mail import MailSettings
    from smtp import smtp_server

    with contextmanager(smtp_server)(refuse=False) as (collector, port):
        tick = DailyTick(engine, hooks, tmp_path, MailSettings(
            sender="ACME Receivables <billing@acme.example>", smtp_host="127.0.0.1",
            smtp_port=port, timeout=5.0))
        buy()
        run(tick, 0, 6)
        [envelope] = collector.envelopes
        assert envelope.rcpt_tos == ["einkauf@muster.example"]
        message = email.message_from_bytes(envelope.content)
        assert "INV-000001" in message["Subject"]
        assert "BP1001/3333" in message.get_payload(decode=True).decode()
    assert not (tmp_path / "outbox").exists()


def test_a_notice_no_longer_true_is_not_sent(engine, buy, tick, tmp_path, monkeypatch):
    from core.errors import RetryableError
    from core.receivables.mail import Outbox

    buy()
    run(tick, 0, 4)
    send = Outbox.send_email

    def unreachable(*args, **kwargs):
        raise RetryableError("SMTP server unreachable")

    monkeypatch.setattr(Outbox, "send_email", unreachable)
    with time_machine.travel(at(5, 6), tick=False):
        assert tick.run(DAY0 + timedelta(days=5)).errors  # the reminder waits
    monkeypatch.setattr(Outbox, "send_email", send)
    pay(engine, "1001", 119000, 6)
    run(tick, 6, 40)
    assert steps(engine)[1][1][0::2] == ("reminder", "void")
    assert not (tmp_path / "outbox").exists()


def test_a_partly_paid_order_is_not_cancelled_but_left_to_the_merchant(engine, buy, tick,
                                                                       read):
    with session_scope(engine) as session:
        choose_policy(Ledger(session), MERCHANT_ID, final="cancel")
    buy()
    run(tick, 0, 40, each_day=lambda day: day == 25 and pay(engine, "1001", 50000, 25))
    r = receivable(engine)
    assert (r.status, r.stop_reason, r.open_amount) == ("stopped", "partly_paid", 69000)
    assert read(lambda ledger: ledger.find_order("acme", "1001")).status == "active"
    assert [s for s in steps(engine)[1] if s[0] == "cancel"] == [("cancel", 39, "done")]
