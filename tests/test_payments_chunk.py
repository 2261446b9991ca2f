"""Property: a chunk of an import booked set-based (``book_chunk``: read ahead, its writes
collected and written a few statements at a time) leaves the ledger exactly as booking
each transaction on its own does: the same stored transactions and outcomes, payments
(principal and charges), receivables, buyer credit, journal, write-backs to the shop and
credit profiles with their limit changes, whatever mix of transfers to the virtual IBAN or
by reference, proposals by name, unmatched transfers, debits, bank returns and repeated
transactions the chunk holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schwifty import IBAN
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_payments_batch import booked_both_ways

from core.ledger.db import session_scope
from core.ledger.models import (
    BankTransactionRecord,
    Buyer,
    CreditProfile,
    LimitChange,
    Movement,
    Payment,
    Receivable,
)
from core.ledger.models.sync import WriteBackRecord as Writeback
from core.ledger.store import Ledger
from core.payments.booking import ImportSummary, book_chunk, book_transaction
from core.payments.matching import Matcher
from core.payments.transactions import BankTransaction
from core.receivables.charges import claim
from core.risk.policy import RiskPolicy, save_policy
from timeline import DAY0

BUYER = str(IBAN.generate("DE", bank_code="10020030", account_code="4000000000").compact)
OTHER = str(IBAN.generate("DE", bank_code="10020030", account_code="4000000001").compact)
NOBODY = str(IBAN.generate("DE", bank_code="10020030", account_code="4999999999").compact)
HOW = ["iban", "iban", "reference", "reference2", "name", "return", "again", "debit",
       "nobody", "other"]
# what the invoices have open (1,190.00; a third of it per installment; 1001 with its fee)
OPEN = [119_000, 39_666, 39_667, 123_000]

flows = st.lists(st.tuples(st.one_of(st.integers(1, 300_000), st.sampled_from(OPEN)),
                           st.sampled_from(HOW)), min_size=1, max_size=14)


@pytest.fixture
def invoices(engine, buy):
    """Three orders of one buyer, the second in three installments: five invoices; a flat
    fee of 40.00 claimed on the first; the limit grows after every second invoice paid
    on time (the buyer's profile opened with its first order). Another buyer owes 1004."""
    buy("1001", activate_on=0)
    buy("1002", activate_on=1, installments=3)
    buy("1003", activate_on=2)
    buy("1004", activate_on=2, buyer={
        "company": "Beispiel Handel", "legal_form": "GmbH", "vat_id": "DE811569869",
        "first_name": "Hans", "last_name": "Beispiel", "email": "hans@beispiel.example",
        "street": "Weg 1", "postcode": "20095", "city": "Hamburg", "country": "DE"})
    with session_scope(engine) as session:
        ledger = Ledger(session)
        first = session.scalars(select(Receivable).order_by(Receivable.id)).first()
        claim(ledger, first, "fee", 4_000, key="fee-1001", document_number="F1")
        save_policy(ledger, replace(RiskPolicy(), grow_after=2))
        profiles = session.scalars(select(CreditProfile)).all()
        ibans = set(session.scalars(select(Buyer.virtual_iban)))
    assert profiles, "the buyer's credit profile is opened with its first order"
    assert ibans == {BUYER, OTHER}


def _chunk(steps: list[tuple[int, str]]) -> list[BankTransaction]:
    chunk: list[BankTransaction] = []
    for n, (amount, how) in enumerate(steps):
        day = DAY0 + timedelta(days=5 + 3 * n)  # the first on time, later ones late
        if how == "again" and chunk:
            chunk.append(chunk[amount % len(chunk)])
        elif how == "return" and chunk:  # of the transfer before it
            chunk.append(replace(chunk[-1], key=f"ret-{n}", credit=False, reversal=True,
                                 booked_on=day))
        else:
            reference = {"reference": ("Rechnung BP1002/3333",),
                         "reference2": ("BP1003/3333 BP1001/3333",)}.get(how, ())
            chunk.append(BankTransaction(
                key=f"in-{n}", account_iban="DE02100200300000000001", amount=amount,
                currency="EUR", credit=how != "debit", reversal=False, booked_on=day,
                credited_iban=BUYER if how in ("iban", "again", "return") else (
                    {"nobody": NOBODY, "other": OTHER}.get(how)),
                remittance=reference,
                debtor_name="Muster Bürobedarf GmbH" if how == "name" else None,
                debtor_iban="DE89370400440532013000", end_to_end_id=f"E2E-{n}"))
    return chunk


def _state(session: Session) -> dict[str, object]:
    session.flush()
    session.expire_all()
    keys = {r.id: r.key for r in session.scalars(select(BankTransactionRecord))}
    return {
        "transactions": [
            (r.key, r.status, r.matched_by, r.buyer_id, r.merchant_id, r.order_id,
             r.proposed_order_id, r.to_credit, keys.get(r.reversed_by_id), r.amount,
             r.remittance, r.debtor_name, r.file_name)
            for r in session.scalars(select(BankTransactionRecord)
                                     .order_by(BankTransactionRecord.id))],
        "receivables": [(r.id, r.paid, r.status, r.next_step_on,
                         sorted((c.kind, c.claimed, c.paid) for c in r.charges))
                        for r in session.scalars(select(Receivable).order_by(Receivable.id))],
        "payments": [(p.idempotency_key, p.receivable_id, p.order_id, p.amount, p.part,
                      p.source, p.booked_on, p.reference, keys.get(p.transaction_id))
                     for p in session.scalars(select(Payment).order_by(Payment.id))],
        "credit": [(b.virtual_iban, b.credit)
                   for b in session.scalars(select(Buyer).order_by(Buyer.id))],
        "journal": [(m.idempotency_key, m.kind, m.order_id, m.merchant_id, m.amount,
                     m.currency, m.description, m.document_number)
                    for m in session.scalars(select(Movement).order_by(Movement.id))],
        "writebacks": sorted((w.idempotency_key, w.order_id, w.connection_id, w.event,
                              w.note, str(w.values), w.status)
                             for w in session.scalars(select(Writeback))),
        "profiles": [(p.buyer_key, p.limit, p.on_time_streak)
                     for p in session.scalars(select(CreditProfile).order_by(CreditProfile.id))],
        "limits": [(c.previous, c.limit, c.reason)
                   for c in session.scalars(select(LimitChange).order_by(LimitChange.id))],
    }


def _book(session: Session, chunk: list[BankTransaction], set_based: bool) -> list[Any]:
    """The outcomes, then the money the import summary counts (as booked, a return later
    in the chunk notwithstanding)."""
    summary = ImportSummary("p")
    if set_based:
        outcomes = [outcome for outcome, _ in book_chunk(session, chunk, "p", summary)]
    else:
        ledger, outcomes = Ledger(session), []
        for transaction in chunk:
            booked = book_transaction(ledger, Matcher(session), transaction, "p")
            summary.count(*booked)
            outcomes.append(booked[0])
    return [*outcomes, f"paid {sorted(summary.paid.items())}",
            f"to credit {sorted(summary.to_credit.items())}"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flows)
def test_a_chunk_booked_set_based_books_as_one_by_one(engine, invoices, steps):
    outcomes, states = booked_both_ways(engine, _chunk(steps), _book, _state)
    assert outcomes[0] == outcomes[1]
    for name in states[0]:
        assert states[0][name] == states[1][name], name


def test_two_chunks_in_turn_book_as_one_by_one(engine, invoices):
    """Payments of one order in two chunks, the second with a return and more after it:
    the write-backs report each payment as the order stood after it."""
    chunk = _chunk([(50_000, "iban"), (30_000, "reference"), (20_000, "other"), (1, "iban"),
                    (0, "return"), (119_000, "name"), (1, "debit"), (300_000, "iban"),
                    (5, "again"), (10_000, "nobody"), (123_000, "reference2")])
    states = []
    for set_based in (False, True):
        with engine.connect() as connection, connection.begin() as outer:
            session = Session(connection)
            booked = _book(session, chunk[:3], set_based) + _book(session, chunk[3:],
                                                                   set_based)
            states.append((booked, _state(session)))
            outer.rollback()
    assert states[0] == states[1]
    booked, state = states[0]
    assert "proposed" in booked and "ignored" in booked and "duplicate" in booked
    assert state["limits"], "the buyer's limit grew"
    assert any(credit for _, credit in state["credit"])
