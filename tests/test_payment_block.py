"""The invoice payment block and its EPC QR code, read back with a real QR decoder."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree

import pytest
import time_machine
import zxingcpp
from PIL import Image
from sqlalchemy import select

from core.errors import ConfigurationError
from core.ledger.db import session_scope
from core.ledger.models import Invoice, Receivable
from core.payments.block import (
    PaymentBlock,
    epc_payload,
    payment_blocks,
    qr_png,
    qr_svg,
    to_json,
    to_text,
)
from core.schemas import load_snapshot
from core.state import Status
from orders import changed, order_data

IBAN = "DE89370400440532013000"
RF = "RF18539007547034"
NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def block(**changes: object) -> PaymentBlock:
    fields: dict[str, object] = {
        "account_holder": "invoicekit Treuhand", "iban": IBAN, "bic": "ABCDDEFFXXX",
        "reference": "BP1001/3333", "due_on": date(2026, 12, 2), "amount": 12_30,
        "currency": "EUR", "invoice_number": "INV-000001"}
    return PaymentBlock(**{**fields, **changes})


def decode(png: bytes) -> str:
    """The content of the one QR code in the PNG, as a real decoder reads it."""
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.ec_level == "M"
    return result.bytes.decode("utf-8")


def spaced(text: str) -> str:
    """Babel's no-break and narrow no-break spaces as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


# -- the EPC QR code ----------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "line"), [
    (1, "EUR0.01"), (12_30, "EUR12.3"), (19_999_00, "EUR19999"), (1_234_56, "EUR1234.56"),
    (999_999_999_99, "EUR999999999.99"),
])
def test_a_bp_reference_goes_into_the_unstructured_text_field(amount, line):
    payment = block(amount=amount)
    content = decode(qr_png(payment))
    assert content.split("\n") == [
        "BCD", "002", "1", "SCT", "ABCDDEFFXXX", "invoicekit Treuhand", IBAN, line, "",
        "", "BP1001/3333"]
    assert content == epc_payload(payment)


def test_an_rf_reference_goes_into_the_structured_field_and_the_text_stays_empty():
    payment = block(reference="rf18 5390 0754 7034", amount=19_999_00)
    assert payment.reference == RF and payment.creditor_reference
    lines = decode(qr_png(payment)).split("\n")
    assert lines[:10] == ["BCD", "002", "1", "SCT", "ABCDDEFFXXX", "invoicekit Treuhand", IBAN,
                          "EUR19999", "", RF]
    assert lines[10:] in ([], [""])  # the text field is left out or empty, never filled
    assert "\n".join(lines) == epc_payload(payment)


def test_names_are_utf8_and_a_missing_bic_leaves_its_line_empty():
    payment = block(account_holder="Müller & Söhne Façades Œuvre", bic=None,
                    iban="DE89 3704 0044 0532 0130 00")
    lines = decode(qr_png(payment)).split("\n")
    assert lines[2] == "1"  # UTF-8
    assert lines[4:7] == ["", "Müller & Söhne Façades Œuvre", IBAN]


def test_the_svg_is_well_formed_and_the_png_a_png():
    payment = block()
    root = ElementTree.fromstring(qr_svg(payment).encode("utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}title").text == \
        "EPC QR code for invoice INV-000001"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None
    assert qr_png(payment, scale=2).startswith(b"\x89PNG\r\n\x1a\n")
    assert len(qr_png(payment, scale=8)) > len(qr_png(payment, scale=2))


@pytest.mark.parametrize(("changes", "why"), [
    ({"currency": "SEK"}, "euro transfers only"),
    ({"amount": 0}, "0.01 to 999999999.99"),
    ({"amount": 999_999_999_99 + 1}, "0.01 to 999999999.99"),
])
def test_no_qr_code_outside_euro_and_the_epc_amount_range(changes, why):
    payment = block(**changes)
    assert not payment.qr_available
    assert why in payment.qr_problem
    for render in (qr_png, qr_svg, epc_payload):
        with pytest.raises(ConfigurationError, match=why):
            render(payment)
    data = to_json(payment)  # the block itself is still there
    assert (data["qr_available"], data["epc_payload"]) == (False, None)
    assert why in data["qr_unavailable_reason"]
    assert "IBAN: DE89 3704 0044 0532 0130 00" in to_text(payment)


def test_a_swedish_block_says_it_is_not_euro():
    payment = block(currency="SEK", amount=5_000_00)
    assert payment.qr_problem == ("EPC QR codes are for euro transfers only, this invoice is "
                                  "in SEK")
    assert to_json(payment)["amount"] == "5000.00"
    assert "Amount: SEK5,000.00" in spaced(to_text(payment))  # CLDR en_GB, as in notices


# -- checks on the data -------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field"), [
    ({"iban": "DE00370400440532013000"}, "iban"),  # wrong check digits
    ({"iban": "XX89370400440532013000"}, "iban"),
    ({"iban": ""}, "iban"),
    ({"bic": "NOT A BIC"}, "bic"),
    ({"account_holder": "A" * 71}, "account_holder"),
    ({"account_holder": " "}, "account_holder"),
    ({"account_holder": "ACME\nBCD"}, "account_holder"),
    ({"reference": "BP" + "1" * 34}, "reference"),
    ({"reference": "RF18539007547035"}, "reference"),  # wrong RF check digits
    ({"reference": ""}, "reference"),
    ({"amount": -1}, "amount"),
    ({"amount": 12.3}, "amount"),
    ({"currency": "XYZ"}, "currency"),
])
def test_bad_data_is_refused_naming_the_field(changes, field):
    with pytest.raises(ConfigurationError, match=rf"payment block: {field} "):
        block(**changes)


def test_limits_are_inclusive():
    payment = block(account_holder="A" * 70, reference="BP" + "1" * 28 + "/3333")
    assert len(payment.reference) == 35
    lines = decode(qr_png(payment)).split("\n")
    assert (lines[5], lines[10]) == ("A" * 70, payment.reference)


def test_the_block_is_frozen_and_keeps_compact_values():
    payment = block(iban="de89 3704 0044 0532 0130 00", bic="abcd de ff xxx")
    assert (payment.iban, payment.bic) == (IBAN, "ABCDDEFFXXX")
    with pytest.raises(dataclasses.FrozenInstanceError):
        payment.amount = 1  # type: ignore[misc]


# -- renderings ---------------------------------------------------------------------------


def test_json_has_machine_readable_values():
    payment = block(amount=19_999_00)
    assert to_json(payment) == {
        "account_holder": "invoicekit Treuhand", "iban": IBAN, "bic": "ABCDDEFFXXX",
        "reference": "BP1001/3333", "reference_type": "text", "due_on": "2026-12-02",
        "amount": "19999.00", "currency": "EUR", "invoice_number": "INV-000001",
        "qr_available": True, "qr_unavailable_reason": None,
        "epc_payload": "BCD\n002\n1\nSCT\nABCDDEFFXXX\ninvoicekit Treuhand\n"
                       f"{IBAN}\nEUR19999\n\n\nBP1001/3333"}
    assert to_json(block(reference=RF, due_on=None))["reference_type"] == "creditor_reference"
    assert to_json(block(due_on=None))["due_on"] is None
    assert to_json(block(amount=1))["amount"] == "0.01"


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["Account holder: invoicekit Treuhand", "IBAN: DE89 3704 0044 0532 0130 00",
            "BIC: ABCDDEFFXXX", "Payment reference: BP1001/3333", "Amount: €19,999.00",
            "Pay by: 2 December 2026"]),
    ("de", ["Kontoinhaber: invoicekit Treuhand", "IBAN: DE89 3704 0044 0532 0130 00",
            "BIC: ABCDDEFFXXX", "Verwendungszweck: BP1001/3333", "Betrag: 19.999,00 €",
            "Zahlbar bis: 2. Dezember 2026"]),
    ("fr", ["Titulaire du compte : invoicekit Treuhand",
            "IBAN : DE89 3704 0044 0532 0130 00", "BIC : ABCDDEFFXXX",
            "Référence de paiement : BP1001/3333", "Montant : 19 999,00 €",
            "À payer au plus tard le : 2 décembre 2026"]),
])
def test_text_for_the_invoice_in_three_languages(language, expected):
    assert spaced(to_text(block(amount=19_999_00), language)).split("\n") == expected


def test_text_groups_an_rf_reference_and_leaves_out_what_is_missing():
    text = to_text(block(reference=RF, bic=None, due_on=None, amount=1), "de-AT")
    assert spaced(text).split("\n") == [
        "Kontoinhaber: invoicekit Treuhand", "IBAN: DE89 3704 0044 0532 0130 00",
        "Verwendungszweck: RF18 5390 0754 7034", "Betrag: 0,01 €"]


# -- from the ledger ----------------------------------------------------------------------


def feed_at(feed, data: dict, when: datetime):
    with time_machine.travel(when, tick=False):
        return feed(load_snapshot(data))


def blocks_of(read, order_id: str = "1001") -> list[PaymentBlock]:
    return read(lambda ledger: payment_blocks(ledger, ledger.find_order("acme", order_id)))


def invoices_of(read, order_id: str = "1001") -> list[Invoice]:
    def query(ledger):
        order = ledger.find_order("acme", order_id)
        rows = ledger.session.scalars(select(Invoice).where(
            Invoice.order_id == order.id, Invoice.kind == "invoice").order_by(Invoice.id)).all()
        for row in rows:
            ledger.session.expunge(row)
        return rows

    return read(query)


def test_an_activated_order_has_one_block_with_its_invoice_data(feed, read):
    assert feed_at(feed, order_data(), NOON).status is Status.AUTHORISED
    assert read(lambda ledger: payment_blocks(ledger, ledger.find_order("acme", "1001"))) == []
    completed = order_data(status="completed", ordering_key=(NOON + timedelta(hours=1))
                           .isoformat())
    assert feed_at(feed, completed, NOON + timedelta(hours=1)).status is Status.ACTIVE

    [invoice] = invoices_of(read)
    [payment] = blocks_of(read)
    assert payment == PaymentBlock(
        account_holder="invoicekit Treuhand", iban=invoice.iban, bic="ABCDDEFFXXX",
        reference="BP1001/3333", due_on=date(2026, 12, 2), amount=549_73, currency="EUR",
        invoice_number=invoice.number)
    assert invoice.due_on == date(2026, 12, 2) and invoice.gross == 549_73
    lines = decode(qr_png(payment)).split("\n")
    assert lines[4:] == ["ABCDDEFFXXX", "invoicekit Treuhand", invoice.iban, "EUR549.73", "", "",
                         "BP1001/3333"]

    refunded = changed(completed, ordering_key=(NOON + timedelta(days=1)).isoformat(),
                       refunds=[{"refund_id": "r1", "amount": "20.00", "reason": "scratch"}])
    feed_at(feed, refunded, NOON + timedelta(days=1))
    [payment] = blocks_of(read)
    assert payment.amount == 529_73
    assert decode(qr_png(payment)).split("\n")[7] == "EUR529.73"
    assert to_json(payment)["amount"] == "529.73"


def test_a_settled_invoice_keeps_its_block_without_a_qr_code(engine, feed, read):
    feed_at(feed, order_data(status="completed"), NOON)
    with session_scope(engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        receivable.paid = receivable.gross
    [payment] = blocks_of(read)
    assert payment.amount == 0 and not payment.qr_available


def test_three_installments_give_three_blocks_due_one_after_the_other(feed, read):
    cart = [("1", "product", "Standing desk", 1, "1000.00", "19")]  # 1,190.00 EUR
    data = order_data(lines=cart, discounts=[], installments=3, status="completed")
    assert feed_at(feed, data, NOON).status is Status.ACTIVE

    payments = blocks_of(read)
    assert [p.amount for p in payments] == [396_67, 396_67, 396_66]
    assert sum(p.amount for p in payments) == 1_190_00
    assert [p.due_on for p in payments] == [date(2026, 12, 2), date(2027, 1, 1),
                                            date(2027, 1, 31)]
    invoices = invoices_of(read)
    assert [p.invoice_number for p in payments] == [i.number for i in invoices]
    assert {p.reference for p in payments} == {"BP1001/3333"}
    assert [decode(qr_png(p)).split("\n")[7] for p in payments] == [
        "EUR396.67", "EUR396.67", "EUR396.66"]


def test_the_invoices_rf_creditor_reference_replaces_the_bp_reference(engine, feed, read,
                                                                      monkeypatch):
    feed_at(feed, order_data(status="completed"), NOON)
    if "creditor_reference" in Invoice.__table__.columns:  # once the column exists
        with session_scope(engine) as session:
            session.scalars(select(Invoice)).one().creditor_reference = RF
    else:
        monkeypatch.setattr(Invoice, "creditor_reference", RF, raising=False)
    [payment] = blocks_of(read)
    assert payment.reference == RF and payment.creditor_reference
    lines = decode(qr_png(payment)).split("\n")
    assert lines[9] == RF and lines[10:] in ([], [""])
