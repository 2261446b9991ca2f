"""Property: however transfers and bank returns come, every cent a buyer sent is either on
an invoice or in the buyer's credit, no invoice takes more than it had open, the one due
first is paid first, and the journal says the same."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schwifty import IBAN
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ledger.models import Buyer, Movement, Receivable
from core.ledger.store import Ledger
from core.payments.booking import book_transaction
from core.payments.matching import Matcher
from core.payments.transactions import BankTransaction
from timeline import DAY0

BUYER = str(IBAN.generate("DE", bank_code="10020030", account_code="4000000000").compact)

transfers = st.lists(st.tuples(st.integers(1, 300_000), st.booleans()), min_size=1,
                     max_size=8)


@pytest.fixture
def invoices(buy):
    """Three orders of one buyer, the second in three installments: five invoices."""
    buy("1001", activate_on=0)
    buy("1002", activate_on=1, installments=3)
    buy("1003", activate_on=2)


def _transfer(n: int, amount: int, *, back: bool = False) -> BankTransaction:
    return BankTransaction(
        key=f"{'ret' if back else 'in'}-{n}", account_iban="DE02100200300000000001",
        amount=amount, currency="EUR", credit=not back, reversal=back,
        booked_on=DAY0 + timedelta(days=10 + n), credited_iban=BUYER,
        debtor_iban="DE89370400440532013000", end_to_end_id=f"E2E-{n}")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(transfers)
def test_every_cent_is_on_an_invoice_or_in_the_credit(engine, invoices, flows):
    with engine.connect() as connection, connection.begin() as outer:
        session = Session(connection)
        ledger, matcher = Ledger(session), Matcher(session)
        received = 0
        for n, (amount, returned) in enumerate(flows):
            book_transaction(ledger, matcher, _transfer(n, amount), "p")
            received += amount
            if returned:
                book_transaction(ledger, matcher, _transfer(n, amount, back=True), "p")
                received -= amount
        session.flush()
        receivables = session.scalars(select(Receivable).order_by(Receivable.due_on,
                                                                  Receivable.id)).all()
        credit = session.scalar(select(Buyer.credit))
        assert sum(r.paid for r in receivables) + credit == received
        assert all(0 <= r.paid <= r.gross for r in receivables)
        assert credit >= 0
        # oldest first: an invoice is paid only once every one due before it is paid in
        # full (returns give money back in any order, so only without them)
        if not any(returned for _, returned in flows):
            paid_flags = [r.open_amount == 0 for r in receivables]
            assert paid_flags == sorted(paid_flags, reverse=True)
            assert credit == max(0, received - sum(r.gross for r in receivables))
        journal = session.scalar(select(func.coalesce(func.sum(Movement.amount), 0)).where(
            Movement.kind.in_(("payment", "payment_reversal", "buyer_credit"))))
        assert -journal == received
        outer.rollback()
