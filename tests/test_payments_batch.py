"""Property: booking an import chunk with what it needs read ahead (the keys stored before,
the buyers of the virtual IBANs and references, the orders, invoices and payable
receivables of those buyers) books exactly what booking each transaction on its own does:
the same payments, receivables, buyer credit, journal, write-backs and stored transactions,
whatever mix of transfers, bank returns and repeated transactions the chunk holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from schwifty import IBAN
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ledger.models import BankTransactionRecord, Buyer, Movement, Payment, Receivable
from core.ledger.models.sync import WriteBackRecord as Writeback
from core.ledger.store import Ledger
from core.payments.booking import Payables, book_transaction, read_ahead, stored_keys
from core.payments.matching import Matcher
from core.payments.transactions import BankTransaction
from timeline import DAY0

BUYER = str(IBAN.generate("DE", bank_code="10020030", account_code="4000000000").compact)

# (amount, how): a transfer to the virtual IBAN, one naming order 1002 by its reference
# only, its bank return, or a transaction of the chunk again
flows = st.lists(st.tuples(st.integers(1, 300_000),
                           st.sampled_from(["iban", "reference", "return", "again"])),
                 min_size=1, max_size=10)


@pytest.fixture
def invoices(buy):
    """Three orders of one buyer, the second in three installments: five invoices."""
    buy("1001", activate_on=0)
    buy("1002", activate_on=1, installments=3)
    buy("1003", activate_on=2)


def _chunk(steps: list[tuple[int, str]]) -> list[BankTransaction]:
    chunk: list[BankTransaction] = []
    for n, (amount, how) in enumerate(steps):
        if how == "again" and chunk:
            chunk.append(chunk[amount % len(chunk)])
        elif how == "return" and chunk:  # of the transfer before it
            returned = chunk[-1]
            chunk.append(replace(returned, key=f"ret-{n}", credit=False, reversal=True,
                                 booked_on=DAY0 + timedelta(days=10 + n)))
        else:
            by_reference = how == "reference"
            chunk.append(BankTransaction(
                key=f"in-{n}", account_iban="DE02100200300000000001", amount=amount,
                currency="EUR", credit=True, reversal=False,
                booked_on=DAY0 + timedelta(days=10 + n),
                credited_iban=None if by_reference else BUYER,
                remittance=("Rechnung BP1002/3333",) if by_reference else (),
                debtor_iban="DE89370400440532013000", end_to_end_id=f"E2E-{n}"))
    return chunk


def _book(session: Session, chunk: list[BankTransaction], ahead: bool) -> list[str]:
    ledger, matcher = Ledger(session), Matcher(session)
    stored = payables = None
    if ahead:
        stored = stored_keys(session, chunk)
        matcher.prefetch(chunk)
        held = read_ahead(session, matcher.buyer_ids())
        payables = Payables(session, matcher.buyer_ids())
        assert held
    return [book_transaction(ledger, matcher, t, "p", stored, payables)[0] for t in chunk]


def _state(session: Session) -> dict[str, object]:
    session.flush()
    session.expire_all()
    ids = {r.id: r.key for r in session.scalars(select(BankTransactionRecord))}
    return {
        "transactions": sorted(
            (r.key, r.status, r.matched_by, r.buyer_id, r.order_id, r.to_credit,
             ids.get(r.reversed_by_id)) for r in session.scalars(select(BankTransactionRecord))),
        "receivables": [(r.id, r.paid, r.status, r.next_step_on) for r in session.scalars(
            select(Receivable).order_by(Receivable.id))],
        "payments": sorted((p.idempotency_key, p.receivable_id, p.amount, p.part, p.source)
                           for p in session.scalars(select(Payment))),
        "credit": session.scalar(select(Buyer.credit)),
        "journal": sorted((m.idempotency_key, m.kind, m.order_id, m.amount, m.description)
                          for m in session.scalars(select(Movement))),
        "writebacks": sorted((w.idempotency_key, w.event, w.note, str(w.values))
                             for w in session.scalars(select(Writeback))),
    }


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flows)
def test_a_chunk_read_ahead_books_as_one_by_one(engine, invoices, steps):
    outcomes, states = booked_both_ways(engine, _chunk(steps), _book, _state)
    assert outcomes[0] == outcomes[1]
    assert states[0] == states[1]


def booked_both_ways(engine, chunk: list[BankTransaction], book, state) -> tuple[list, list]:
    """The outcomes and the ledger's ``state`` after ``book(session, chunk, False)`` and
    after ``book(session, chunk, True)``, each on the same ledger, rolled back after."""
    states, outcomes = [], []
    for second_way in (False, True):
        with engine.connect() as connection, connection.begin() as outer:
            session = Session(connection)
            outcomes.append(book(session, chunk, second_way))
            states.append(state(session))
            outer.rollback()
    event(f"outcomes {sorted(set(outcomes[0]))}")
    return outcomes, states
