"""Dunning notices are true on the day they are sent: time-travelled over five policies and
three languages, nothing dated on or before the due date duns, charges or threatens, and
every step happens once, on its day."""

from __future__ import annotations

import email
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from conftest import MERCHANT_ID
from core.ledger.db import session_scope
from core.ledger.models import DunningStep, Receivable
from core.ledger.store import Ledger
from core.receivables.book import choose_policy
from core.receivables.policy import Policy
from timeline import DAY0, run, taken

# words that only a dunning notice may say: a final reminder, default, charges, collection
DUNNING_WORDS = {
    "de": ("Mahnung", "trotz", "Verzug", "Pauschale", "Inkasso", "Gesamtbetrag", "Forderung",
           "noch nicht vollständig"),
    "en": ("Final reminder", "Despite", "default", "late payment", "collection",
           "Total amount due", "not yet been paid"),
    "fr": ("Dernier rappel", "Malgré", "retard", "recouvrement", "Montant total dû",
           "échue", "pas encore entièrement"),
}
# ...and what a note of the payment coming up says instead
UPCOMING_WORDS = {"de": "fällig wird", "en": "falls due on", "fr": "arrive à échéance"}

EXTRA_LETTER = Policy.from_json({"steps": [
    {"id": "call", "anchor": "purchase", "offset_days": 1, "channel": "call",
     "action": "remind"},
    {"id": "reminder", "anchor": "purchase", "offset_days": 5, "channel": "email",
     "action": "remind"},
    {"id": "letter_1", "anchor": "purchase", "offset_days": 10, "channel": "letter",
     "action": "remind"},
    {"id": "letter_2", "anchor": "due", "offset_days": 3, "channel": "letter",
     "action": "remind"},
    {"id": "letter_3", "anchor": "purchase", "offset_days": 25, "channel": "letter",
     "action": "announce"},
    {"id": "handover", "anchor": "purchase", "offset_days": 35, "channel": "none",
     "action": "handover"},
]})

# scenario -> (merchant settings, policy, final step, installments, steps taken per invoice)
SCENARIOS = {
    "default policy, 30-day term": ({}, None, None, None, {1: [
        ("call", 1), ("reminder", 5), ("letter_1", 10), ("letter_2", 31), ("handover", 39)]}),
    "14-day term": ({"payment_term_days": 14}, None, None, None, {1: [
        ("call", 1), ("reminder", 5), ("letter_1", 10), ("letter_2", 20), ("handover", 30)]}),
    "auto-cancel": ({}, None, "cancel", None, {1: [
        ("call", 1), ("reminder", 5), ("letter_1", 10), ("letter_2", 31), ("cancel", 39)]}),
    "three installments": ({"payment_term_days": 14, "installment_interval_days": 10}, None,
                           None, 3, {
        1: [("call", 1), ("reminder", 5), ("installment_upcoming", 9), ("letter_1", 10),
            ("letter_2", 20), ("handover", 30)],
        2: [("call", 11), ("reminder", 15), ("installment_upcoming", 19), ("letter_1", 20),
            ("letter_2", 30), ("handover", 40)],
        3: [("call", 21), ("reminder", 25), ("installment_upcoming", 29), ("letter_1", 30),
            ("letter_2", 40), ("handover", 50)]}),
    "two installments, 30-day term": ({"installment_interval_days": 30}, None, None, 2, {
        1: [("call", 1), ("reminder", 5), ("letter_1", 10), ("installment_upcoming", 25),
            ("letter_2", 31), ("handover", 39)],
        2: [("call", 31), ("reminder", 35), ("letter_1", 40), ("installment_upcoming", 55),
            ("letter_2", 61), ("handover", 69)]}),
    "an extra letter": ({}, EXTRA_LETTER, None, None, {1: [
        ("call", 1), ("reminder", 5), ("letter_1", 10), ("letter_3", 31), ("letter_2", 33),
        ("handover", 39)]}),
}


def _documents(engine, home) -> list[tuple[DunningStep, date, str]]:
    """Every notice delivered: its step, the due date it was about, and its text."""
    out = []
    with session_scope(engine, write=False) as session:
        for step, due_on in session.execute(
                select(DunningStep, Receivable.due_on)
                .join(Receivable, Receivable.id == DunningStep.receivable_id)
                .where(DunningStep.status == "done", DunningStep.notice.is_not(None))):
            path = home / ("outbox" if step.channel == "email" else "letters") / \
                f"{step.notice['key']}.{'eml' if step.channel == 'email' else 'pdf'}"
            if step.channel == "email":
                message = email.message_from_bytes(path.read_bytes())
                text = message["Subject"] + "\n" + message.get_payload(decode=True).decode()
            else:
                text = " ".join(page.extract_text() for page in PdfReader(path).pages)
            session.expunge(step)
            out.append((step, due_on, " ".join(text.split())))
    return out


@pytest.mark.parametrize("language", ["de", "en", "fr"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_no_notice_before_the_due_date_duns_and_every_step_happens_once_on_its_day(
        engine, buy, tick, configure, tmp_path, scenario, language):
    settings, policy, final, installments, expected = SCENARIOS[scenario]
    configure(**settings)
    if policy is not None or final is not None:
        with session_scope(engine) as session:
            choose_policy(Ledger(session), MERCHANT_ID, policy=policy, final=final)
    buyer = {"company": "Muster Bürobedarf", "legal_form": "GmbH", "vat_id": "DE136695976",
             "first_name": "Erika", "last_name": "Muster", "email": "einkauf@muster.example",
             "street": "Hauptstraße 5", "postcode": "10115", "city": "Berlin",
             "country": "DE", "language": language}
    buy(buyer=buyer, **({"installments": installments} if installments else {}))
    run(tick, 0, 70)
    assert taken(engine) == expected

    documents = _documents(engine, tmp_path)
    early = [(step, text) for step, due_on, text in documents if step.taken_on <= due_on]
    late = [(step, text) for step, due_on, text in documents if step.taken_on > due_on]
    assert early and late, "each scenario has notices before and after the due date"
    for step, text in early:
        assert step.notice["kind"] == "upcoming", step.step_id
        assert (step.notice["fee"], step.notice["interest"]) == (0, 0)
        assert UPCOMING_WORDS[language] in text, step.step_id
        for word in DUNNING_WORDS[language]:
            assert word.casefold() not in text.casefold(), (step.step_id, word)
    for step, text in late:  # the wording is not lost: after the due date it duns
        if step.notice["kind"] == "final":
            assert any(w.casefold() in text.casefold() for w in DUNNING_WORDS[language][:3])
    # a notice dated after the due date that claims charges has them in its text
    for step, _text in late:
        assert step.notice["kind"] in ("reminder", "final", "cancellation")


def test_a_dunning_notice_whose_due_date_moved_meanwhile_is_not_sent(engine, buy, tick,
                                                                      tmp_path):
    """A final reminder decided, then the merchant gives 14 more days before it went out:
    the claim is no longer overdue, so the notice is void."""
    from core.receivables.book import extend_due_date

    buy()
    run(tick, 0, 30)
    with session_scope(engine) as session:
        ledger = Ledger(session)
        receivable_id = session.scalars(select(Receivable.id)).one()
        first = session.scalars(select(DunningStep.notice).where(
            DunningStep.step_id == "letter_1")).one()
        session.add(DunningStep(
            receivable_id=receivable_id, step_id="late", action="announce",
            channel="letter", scheduled_on=DAY0 + timedelta(days=31),
            taken_on=DAY0 + timedelta(days=31), status="to_send",
            notice=dict(first, key="late", kind="final")))
        extend_due_date(ledger, ledger.find_order("acme", "1001"), 14)
    run(tick, 31, 31)
    with session_scope(engine, write=False) as session:
        late = session.scalars(select(DunningStep).where(DunningStep.step_id == "late")).one()
        assert (late.status, late.error) == (
            "void", "the due date changed since the notice was decided")
    assert not (tmp_path / "letters" / "late.pdf").exists()
