"""Matching and booking transfers: each rule, several invoices, part and over-payments,
bank returns, proposals confirmed by hand, credits paid back, the buyer's history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from schwifty import IBAN
from sqlalchemy import func, select

from conftest import MERCHANT_ID
from core.errors import ConfigurationError
from core.ledger.db import session_scope
from core.ledger.models import (
    BankTransactionRecord,
    Buyer,
    Merchant,
    Movement,
    Payment,
    Receivable,
)
from core.ledger.store import Ledger
from core.payments.booking import assign, book_transaction, refund_credit
from core.payments.matching import Matcher, creditor_references, reference_candidates
from core.payments.transactions import BankTransaction
from core.receivables.history import payment_history
from core.schemas import load_snapshot
from orders import order_data
from timeline import CART, DAY0, at, receivable, rf_of, run, steps

ACCOUNT = "DE02100200300000000001"
FIRST_IBAN = str(IBAN.generate("DE", bank_code="10020030", account_code="4000000000").compact)


def transfer(amount: int, *, key: str, day: int = 10, credited: str | None = None,
             lines: tuple[str, ...] = (), rf: str | None = None, name: str = "Muster GmbH",
             credit: bool = True, reversal: bool = False, e2e: str | None = None,
             debtor_iban: str = "DE89370400440532013000") -> BankTransaction:
    return BankTransaction(
        key=key, account_iban=ACCOUNT, amount=amount, currency="EUR", credit=credit,
        reversal=reversal, booked_on=DAY0 + timedelta(days=day), credited_iban=credited,
        debtor_name=name, debtor_iban=debtor_iban, remittance=lines, creditor_reference=rf,
        end_to_end_id=e2e)


@pytest.fixture
def book(engine):
    """Book transactions as an import does; returns the outcome of each."""

    def book(*transactions: BankTransaction) -> list[str]:
        outcomes = []
        with session_scope(engine) as session:
            ledger, matcher = Ledger(session), Matcher(session)
            for transaction in transactions:
                outcomes.append(book_transaction(ledger, matcher, transaction, "test")[0])
        return outcomes

    return book


def open_amounts(engine, *order_ids: str) -> list[int]:
    return [receivable(engine, order_id).open_amount for order_id in order_ids]


def credit_of(engine) -> int:
    with session_scope(engine, write=False) as session:
        return session.scalar(select(Buyer.credit))


def journal(engine, kind: str) -> int:
    with session_scope(engine, write=False) as session:
        return int(session.scalar(select(func.coalesce(func.sum(Movement.amount), 0))
                                  .where(Movement.kind == kind)))


def test_reference_readings_survive_bank_mangling():
    for lines in (["BP1001/3333"], ["bp 1001 / 3333"], ["Rechnung BP1001-3333 danke"],
                  ["BP10", "01/3333"], ["B P1001.3333"], ["BP1001 3333"], ["BP10013333"]):
        assert ("1001", 3333) in reference_candidates(lines), lines
    assert ("SW-1001", 7) in reference_candidates(["Order BPSW-1001/7"])
    assert reference_candidates(["no reference here"]) == []


def test_rf_references_are_read_from_either_field_and_checked():
    assert creditor_references(transfer(1, key="a", rf="RF18 5390 0754 7034")) == \
        ["RF18539007547034"]
    assert creditor_references(transfer(1, key="b", lines=("pay rf18539007547034",))) == \
        ["RF18539007547034"]
    assert creditor_references(transfer(1, key="c", rf="RF19539007547034")) == []


def test_the_virtual_iban_pays_the_buyers_invoices_oldest_first(engine, buy, book):
    buy("1001", activate_on=0)
    buy("1002", activate_on=3)
    assert book(transfer(150_000, key="t1", credited=FIRST_IBAN)) == ["booked"]
    assert open_amounts(engine, "1001", "1002") == [0, 119_000 - 31_000]
    assert receivable(engine, "1001").status == "settled"
    assert receivable(engine, "1001").next_step_on is None  # its dunning ended
    with session_scope(engine, write=False) as session:
        record = session.scalars(select(BankTransactionRecord)).one()
        assert (record.matched_by, record.to_credit) == ("virtual_iban", 0)
    assert journal(engine, "payment") == -150_000


def test_a_reference_names_the_invoice_paid_first(engine, buy, book):
    buy("1001", activate_on=0)
    buy("1002", activate_on=3)
    assert book(transfer(50_000, key="t1", lines=("Zahlung zu", "BP 1002 / 3333"))) == ["booked"]
    assert open_amounts(engine, "1001", "1002") == [119_000, 69_000]


def test_the_virtual_iban_wins_and_a_reference_of_the_same_buyer_orders_it(engine, buy, book):
    buy("1001", activate_on=0)
    buy("1002", activate_on=3)
    book(transfer(10_000, key="t1", credited=FIRST_IBAN, lines=("BP1002/3333",)))
    assert open_amounts(engine, "1001", "1002") == [119_000, 109_000]


def test_an_rf_reference_counts_only_where_the_merchant_gives_them_out(engine, buy, book,
                                                                       configure):
    configure(rf_references=True)
    buy("1001", activate_on=0)
    rf = rf_of(engine, "1001")
    assert rf.startswith("RF")
    assert book(transfer(19_000, key="t1", rf=rf)) == ["booked"]
    assert open_amounts(engine, "1001") == [100_000]
    configure(rf_references=False)
    assert book(transfer(100, key="t2", rf=rf, name="")) == ["unmatched"]


def test_an_over_payment_becomes_the_buyers_credit_and_can_be_paid_back(engine, buy, book):
    buy("1001", activate_on=0)
    book(transfer(120_000, key="t1", credited=FIRST_IBAN))
    assert open_amounts(engine, "1001") == [0]
    assert credit_of(engine) == 1_000
    assert journal(engine, "buyer_credit") == -1_000
    with session_scope(engine) as session:
        buyer_id = session.scalar(select(Buyer.id))
        with pytest.raises(ConfigurationError, match="at most"):
            refund_credit(Ledger(session), buyer_id, 1_001, key="r0")
    with session_scope(engine) as session:
        assert refund_credit(Ledger(session), buyer_id, key="r1") == \
            (1_000, "DE89370400440532013000")
    assert credit_of(engine) == 0
    assert journal(engine, "credit_refund") == 1_000


def test_a_bank_return_reopens_what_the_transfer_paid(engine, buy, book, tick):
    buy("1001", activate_on=0)
    book(transfer(120_000, key="t1", credited=FIRST_IBAN, e2e="E2E-1"))
    assert receivable(engine, "1001").status == "settled"
    assert book(transfer(120_000, key="t2", day=12, credit=False, reversal=True,
                         e2e="E2E-1")) == ["booked"]
    r = receivable(engine, "1001")
    assert (r.open_amount, r.paid, r.status) == (119_000, 0, "open")
    assert r.next_step_on == DAY0 + timedelta(days=12)  # dunning goes on
    assert credit_of(engine) == 0
    with session_scope(engine, write=False) as session:
        statuses = dict(session.execute(select(BankTransactionRecord.key.isnot(None),
                                               BankTransactionRecord.status)).all())
        assert sorted(session.scalars(select(BankTransactionRecord.status))) == \
            ["booked", "reversed"]
        assert statuses
        assert session.scalar(select(func.sum(Payment.amount))) == 0
    assert journal(engine, "payment") + journal(engine, "payment_reversal") == 0
    run(tick, 12, 13)  # the tick picks the receivable up again
    assert steps(engine)[1][-1][1] >= 12


def test_a_return_is_found_by_the_payers_account_without_an_end_to_end_id(engine, buy, book):
    buy("1001", activate_on=0)
    book(transfer(50_000, key="t1", lines=("BP1001/3333",)))
    book(transfer(50_000, key="t2", credit=False, reversal=True, day=11))
    assert open_amounts(engine, "1001") == [119_000]


def test_an_unknown_transfer_is_proposed_by_amount_and_name_and_confirmed(engine, buy, book):
    buy("1001", activate_on=0)
    assert book(transfer(119_000, key="t1", name="Fremdfirma AG",
                         debtor_iban="DE75512108001245126199")) == ["unmatched"]
    assert book(transfer(119_000, key="t2", name="Muster Bürobedarf GmbH")) == ["proposed"]
    assert open_amounts(engine, "1001") == [119_000]  # nothing booked on a guess
    with session_scope(engine) as session:
        ids = session.scalars(select(BankTransactionRecord.id).order_by(
            BankTransactionRecord.id)).all()
    with session_scope(engine) as session:
        assert assign(Ledger(session), ids[1]) == 119_000
    assert open_amounts(engine, "1001") == [0]
    with session_scope(engine) as session, pytest.raises(ConfigurationError,
                                                         match="no proposal"):
        assign(Ledger(session), ids[0])
    with session_scope(engine) as session:  # named by hand: the order is paid, all to credit
        ledger = Ledger(session)
        assert assign(ledger, ids[0], ledger.find_order("acme", "1001")) == 0
    assert credit_of(engine) == 119_000


def test_booking_a_transaction_twice_changes_nothing(engine, buy, book):
    buy("1001", activate_on=0)
    t = transfer(10_000, key="same", credited=FIRST_IBAN)
    assert book(t, t) == ["booked", "duplicate"]
    assert book(t) == ["duplicate"]
    assert open_amounts(engine, "1001") == [109_000]


def test_debits_that_are_no_return_are_ignored(engine, buy, book):
    buy("1001", activate_on=0)
    assert book(transfer(500, key="fee", credit=False, lines=("Kontofuehrung",))) == ["ignored"]
    assert book(transfer(777, key="r", credit=False, reversal=True, e2e="nope")) == \
        ["unmatched"]


def test_installments_are_paid_in_due_order(engine, buy, book):
    buy("1001", activate_on=0, installments=3)
    book(transfer(50_000, key="t1", credited=FIRST_IBAN))
    with session_scope(engine, write=False) as session:
        rows = session.execute(select(Receivable.installment, Receivable.paid)
                               .order_by(Receivable.due_on)).all()
    assert rows == [(1, 39_667), (2, 10_333), (3, 0)]


def test_payments_feed_the_buyers_history(engine, buy, book):
    buy("1001", activate_on=0)
    buy("1002", activate_on=0)
    book(transfer(119_000, key="t1", day=20, lines=("BP1001/3333",)))
    book(transfer(119_000, key="t2", day=40, lines=("BP1002/3333",)))
    with session_scope(engine, write=False) as session:
        buyer_id = session.scalar(select(Buyer.id))
        history = payment_history(Ledger(session), buyer_id, today=DAY0 + timedelta(days=41))
    assert (history.invoices_paid, history.paid_on_time, history.paid_late,
            history.amount_paid, history.open_overdue) == (2, 1, 1, 238_000, 0)


def test_fees_follow_what_stays_invoiced(engine, buy, feed):
    buy("1001", activate_on=0)
    assert journal(engine, "fee") == 8_318  # 6.99 % of 1,190.00
    with session_scope(engine) as session:
        merchant = session.get(Merchant, MERCHANT_ID)
        assert merchant.fee_percent == Decimal("6.99")
    with time_machine.travel(at(2), tick=False):
        data = order_data("1001", lines=CART, discounts=[], status="cancelled",
                          ordering_key=at(2).isoformat())
        feed(load_snapshot(data))
    assert journal(engine, "fee") == 0  # the credit note took the fee back


def test_observers_get_the_payment_block_with_the_activation(engine, hooks, buy):
    from core import hookimpl

    seen = []

    class Observer:
        @hookimpl
        def operation_succeeded(self, order, operation, result):
            if "payment_blocks" in result.details:
                seen.append(result.details["payment_blocks"])

    hooks.pm.register(Observer())
    buy("1001", activate_on=0, installments=2)
    [blocks] = seen
    assert [(b["iban"], b["reference"], b["amount"], b["due_on"]) for b in blocks] == [
        (FIRST_IBAN, "BP1001/3333", "595.00", "2026-04-01"),
        (FIRST_IBAN, "BP1001/3333", "595.00", "2026-05-01")]
    assert blocks[0]["epc_payload"].endswith("\nEUR595\n\n\nBP1001/3333")


def test_a_reference_two_orders_could_be_is_only_proposed(engine, buy, book):
    with session_scope(engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(id=33333, name="Other", country="DE", account_holder="Other",
                            bank_code="10020030", account_first=4_100_000_000,
                            account_last=4_100_009_999, kyc_verified=True)
        ledger.add_connection(name="other", merchant_id=33333, platform="woocommerce",
                              status_map={"completed": "activate"})
    buy("1001", activate_on=0)
    buy("1001", activate_on=0, shop="other")
    # the next line glued on: BP1001/3333 + "3 Stueck" reads as 1001 of merchant 33333 too
    assert book(transfer(1_000, key="t1", lines=("Rechnung BP1001/3333", "3 Stueck"))) \
        == ["proposed"]
    assert open_amounts(engine, "1001") == [119_000]


def test_a_return_needs_the_same_payer_account_not_only_the_end_to_end_id(engine, buy, book):
    buy("1001", activate_on=0)
    book(transfer(50_000, key="a", lines=("BP1001/3333",), e2e="1",
                  debtor_iban="DE89370400440532013000"))
    book(transfer(50_000, key="b", lines=("BP1001/3333",), e2e="1",
                  debtor_iban="DE75512108001245126199"))
    assert book(transfer(50_000, key="r", credit=False, reversal=True, e2e="1", day=12,
                         debtor_iban="DE75512108001245126199")) == ["booked"]
    with session_scope(engine, write=False) as session:
        reversed_keys = session.scalars(select(BankTransactionRecord.debtor_iban).where(
            BankTransactionRecord.status == "reversed")).all()
    assert reversed_keys == ["DE75512108001245126199"]


def test_a_return_leaves_stopped_dunning_stopped(engine, buy, book):
    from core.receivables.book import stop_dunning

    buy("1001", activate_on=0)
    with session_scope(engine) as session:
        ledger = Ledger(session)
        stop_dunning(ledger, ledger.find_order("acme", "1001"), "dispute")
    book(transfer(119_000, key="t1", credited=FIRST_IBAN, e2e="E1"))
    book(transfer(119_000, key="t2", credit=False, reversal=True, e2e="E1", day=12))
    r = receivable(engine, "1001")
    assert (r.status, r.stop_reason, r.next_step_on, r.open_amount) == \
        ("stopped", "dispute", None, 119_000)


def test_a_credit_note_after_payment_moves_the_money_to_the_buyers_credit(engine, buy, book,
                                                                           feed):
    buy("1001", activate_on=0)
    book(transfer(119_000, key="t1", credited=FIRST_IBAN))
    with time_machine.travel(at(12), tick=False):
        feed(load_snapshot(order_data("1001", lines=CART, discounts=[], status="cancelled",
                                      ordering_key=at(12).isoformat())))
    r = receivable(engine, "1001")
    assert (r.open_amount, r.paid, r.status) == (0, 0, "settled")
    assert credit_of(engine) == 119_000
    assert journal(engine, "buyer_credit") == -119_000


OTHER_BUYER = {"company": "Beispiel Handel", "legal_form": "GmbH", "vat_id": "DE811569869",
               "first_name": "Hans", "last_name": "Beispiel", "email": "hans@beispiel.example",
               "street": "Weg 1", "postcode": "20095", "city": "Hamburg", "country": "DE"}


def booked(engine) -> tuple[str, str, list[int]]:
    """The last transfer's status, how it was matched, and the orders its payments went to."""
    with session_scope(engine, write=False) as session:
        record = session.scalars(select(BankTransactionRecord)
                                 .order_by(BankTransactionRecord.id.desc())).first()
        orders = session.scalars(select(Payment.order_id).where(
            Payment.transaction_id == record.id).order_by(Payment.id)).all()
        return record.status, record.matched_by, list(orders)


@pytest.mark.parametrize(("amount", "expected_open", "credit"), [
    (238_000, [0, 0], 0),  # exact
    (150_000, [0, 119_000 - 31_000], 0),  # short: the one due first first
    (250_000, [0, 0], 12_000),  # over: the rest is the buyer's credit
])
def test_one_transfer_for_two_orders_of_one_buyer_pays_both(engine, buy, book, amount,
                                                             expected_open, credit):
    buy("1001", activate_on=0)
    buy("1002", activate_on=3)
    # named in the other order, and one of them cut by the bank over two lines
    assert book(transfer(amount, key="t1", lines=("BP1002/3333 BP1001/", "3333"))) \
        == ["booked"]
    assert open_amounts(engine, "1001", "1002") == expected_open
    assert credit_of(engine) == credit
    assert booked(engine)[:2] == ("booked", "reference")
    if not credit:
        assert [receivable(engine, o).status for o in ("1001", "1002")] == \
            ["settled" if left == 0 else "open" for left in expected_open]


def test_one_transfer_for_three_orders_pays_them_oldest_first(engine, buy, book):
    buy("1001", activate_on=0)
    buy("1002", activate_on=2)
    buy("1003", activate_on=4)
    buy("1004", activate_on=1)  # not named: paid only once the named ones are
    lines = ("Rechnungen BP1003/3333, BP1001/3333", "und BP 1002 / 3333")
    assert book(transfer(3 * 119_000 - 500, key="t1", lines=lines)) == ["booked"]
    assert open_amounts(engine, "1001", "1002", "1003", "1004") == [0, 0, 500, 119_000]
    # the rest of 1003, then what is left to the buyer's other open invoice
    assert book(transfer(1_700, key="t2", lines=lines)) == ["booked"]
    assert open_amounts(engine, "1001", "1002", "1003", "1004") == [0, 0, 0, 119_000 - 1_200]


def test_references_to_orders_of_different_buyers_are_only_proposed(engine, buy, book):
    buy("1001", activate_on=0)
    buy("1002", activate_on=0, buyer=OTHER_BUYER)
    assert book(transfer(238_000, key="t1", lines=("BP1001/3333 BP1002/3333",))) \
        == ["proposed"]
    assert open_amounts(engine, "1001", "1002") == [119_000, 119_000]


def test_a_reference_to_an_order_that_does_not_exist_makes_it_a_proposal(engine, buy, book):
    buy("1001", activate_on=0)
    assert book(transfer(238_000, key="t1", lines=("BP1001/3333 BP1999/3333",))) \
        == ["proposed"]
    assert open_amounts(engine, "1001") == [119_000]
    # a word that merely starts with BP names no order of a merchant: no conflict
    assert book(transfer(119_000, key="t2", lines=("BP1001/3333 via BPost",))) == ["booked"]
    assert open_amounts(engine, "1001") == [0]


def test_reference_groups_read_each_reference_apart():
    from core.payments.matching import reference_groups

    groups = reference_groups(["BP4809/3333 BP4810/", "3333"])
    assert len(groups) == 2
    assert ("4809", 3333) in groups[0] and ("4810", 3333) in groups[1]
    assert ("4810", 3333) not in groups[0]
