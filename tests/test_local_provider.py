"""The local provider: eligibility, per-buyer virtual IBANs, references, numbering."""

from __future__ import annotations

import copy

import pytest
from schwifty import IBAN
from sqlalchemy import select

from core.ledger.db import session_scope
from core.ledger.models import Buyer, Invoice
from core.ledger.store import Ledger
from core.local_provider.banking import buyer_key, payment_reference
from core.schemas import load_snapshot
from core.state import Status
from orders import order_data


def cart(total: str) -> list[tuple]:
    return [("1", "product", "Item", 1, total, "0")]


@pytest.mark.parametrize(("total", "reason"), [
    ("49.99", "amount_below_minimum"), ("50.00", None), ("19999.00", None),
    ("19999.01", "amount_above_maximum"),
])
def test_placement_follows_the_eligibility_decision(feed, total, reason):
    """The rules themselves are walked in test_eligibility.py; here: the order follows."""
    outcome = feed(load_snapshot(order_data(lines=cart(total), discounts=[])))
    assert outcome.decline_reason == reason
    assert outcome.status is (Status.DECLINED if reason else Status.AUTHORISED)


@pytest.mark.parametrize(("change", "reason"), [
    ({"country": "CH"}, "country_not_supported"),
    ({"company": None}, "not_a_business"),
    ({"legal_form": None}, "not_a_business"),
    ({"vat_id": "DE136695975"}, "vat_id_invalid"),
])
def test_a_declined_placement_keeps_the_first_reason(feed, change, reason):
    data = order_data()
    data["buyer"].update(change)
    assert feed(load_snapshot(data)).decline_reason == reason


def test_currencies_without_a_rate_are_declined(feed):
    data = order_data(currency="SEK")
    assert feed(load_snapshot(data)).decline_reason == "currency_not_supported"


def test_order_number_must_fit_the_reference(feed):
    data = order_data(order_number="X" * 30)
    assert feed(load_snapshot(data)).decline_reason == "order_number_too_long"


def test_payment_reference_format():
    assert payment_reference("1234567", 3333) == "BP1234567/3333"


def test_same_buyer_same_iban_other_buyer_other_iban(feed, engine):
    feed(load_snapshot(order_data("1", status="completed")))
    feed(load_snapshot(order_data("2", status="completed")))
    other = order_data("3", status="completed")
    other["buyer"].update(company="Beispiel AG", legal_form="AG", vat_id="DE811128135")
    feed(load_snapshot(other))
    with session_scope(engine) as session:
        invoices = session.scalars(select(Invoice).order_by(Invoice.id)).all()
        assert [i.number for i in invoices] == ["INV-000001", "INV-000002", "INV-000003"]
        assert invoices[0].iban == invoices[1].iban != invoices[2].iban
        assert [i.payment_reference for i in invoices] == ["BP1/3333", "BP2/3333", "BP3/3333"]
        for invoice in invoices:
            assert IBAN(invoice.iban).validate(validate_bban=True)
        assert len(session.scalars(select(Buyer)).all()) == 2


def test_buyer_key_ignores_vat_formatting():
    data = order_data()
    spaced = copy.deepcopy(data)
    spaced["buyer"]["vat_id"] = "de 136 695 976"
    assert buyer_key(load_snapshot(data).buyer) == buyer_key(load_snapshot(spaced).buyer)


def test_exhausted_account_range_is_a_dead_operation(engine, hooks):
    from core.execute import process_snapshot

    with session_scope(engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(id=7, name="Tiny", country="DE", account_holder="Tiny",
                            bank_code="10020030", account_first=1, account_last=1,
                            kyc_verified=True)
        ledger.add_connection(name="tiny", merchant_id=7, platform="generic",
                              status_map={"completed": "activate"})
    outcomes = []
    for number, company in (("1", "Erste GmbH"), ("2", "Zweite GmbH")):
        data = order_data(number, shop="tiny", status="completed", discounts=[])
        data["buyer"].update(company=company, vat_id=None)
        outcomes.append(process_snapshot(engine, hooks, load_snapshot(data)))
    assert outcomes[0].failure is None
    assert outcomes[1].failure.permanent
    assert "account range" in outcomes[1].failure.error


@pytest.mark.parametrize(("bank_code", "last"), [("10020030", 99_999_999_999), ("1002", 10)])
def test_merchant_bank_details_must_make_valid_ibans(engine, bank_code, last):
    from core.errors import ConfigurationError

    with session_scope(engine) as session, pytest.raises(ConfigurationError, match="IBAN"):
        Ledger(session).add_merchant(id=9, name="X", country="DE", account_holder="X",
                                     bank_code=bank_code, account_first=1, account_last=last,
                                     kyc_verified=True)


def test_overlapping_account_ranges_at_one_bank_are_refused(engine, shop):
    from core.errors import ConfigurationError

    with session_scope(engine) as session, pytest.raises(ConfigurationError, match="3333"):
        Ledger(session).add_merchant(id=8, name="Y", country="DE", account_holder="Y",
                                     bank_code="10020030", account_first=4_000_005_000,
                                     account_last=4_000_050_000, kyc_verified=True)


def test_database_errors_carry_no_buyer_data(engine, shop):
    from sqlalchemy.exc import IntegrityError

    from core.errors import describe
    from core.ledger.models import Buyer as BuyerRow

    with pytest.raises(IntegrityError) as info, session_scope(engine) as session:
        for _ in range(2):
            session.add(BuyerRow(merchant_id=3333, buyer_key="vat:DE136695976",
                                 company="Geheim GmbH", country="DE", virtual_iban="X"))
        session.flush()
    reason = describe(info.value)
    assert reason.startswith("database error IntegrityError (")
    assert "Geheim" not in reason and "DE136695976" not in reason


def test_a_credit_larger_than_any_invoice_is_split_over_the_invoices(engine, feed):
    """Shipped in two parts, then cancelled: each invoice gets a credit note within its
    amount, and together they credit everything invoiced, in gross, net and tax."""
    from core.ledger.models import Invoice as Document

    def shipped(minutes, units, status="processing"):
        data = order_data(minutes=minutes, status=status, discounts=[])
        for item in data["lines"]:
            item["shipped"] = units.get(item["line_id"])
        return load_snapshot(data)

    everything = {"1": 2, "2": 10, "3": 3}
    for step in (shipped(0, {}), shipped(10, {"1": 2}), shipped(20, everything),
                 shipped(30, everything, status="cancelled")):
        assert feed(step).failure is None
    with session_scope(engine) as session:
        docs = session.scalars(select(Document).order_by(Document.id)).all()
        invoices = {d.id: d for d in docs if d.kind == "invoice"}
        notes = [d for d in docs if d.kind == "credit_note"]
        assert len(invoices) == 2 and len(notes) == 2
        for invoice in invoices.values():
            against = [n for n in notes if n.invoice_id == invoice.id]
            assert [(n.gross, n.net, n.tax) for n in against] == [
                (invoice.gross, invoice.net, invoice.tax)]


def test_a_locked_merchant_is_read_anew(engine, shop):
    """Numbers and accounts are drawn from the merchant's row under its lock: a copy the
    session loaded before another worker drew one must not be used (PostgreSQL; SQLite has
    one writer at a time)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("another transaction cannot commit meanwhile on SQLite")
    with session_scope(engine) as session:
        ledger = Ledger(session)
        merchant = ledger.merchant(3333)  # held, as a provider holds it while it works
        assert merchant.next_invoice == 1
        with session_scope(engine) as other:  # another worker issues an invoice number
            Ledger(other).merchant(3333, for_update=True).next_invoice = 2
        assert ledger.merchant(3333, for_update=True).next_invoice == 2
