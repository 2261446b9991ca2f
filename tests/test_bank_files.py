"""Bank statement files: camt.053 (02, 04, 08) and MT940 read field by field, unsafe,
broken and unknown files refused, the kind sniffed, and a large camt file read in flat
memory."""

from __future__ import annotations

import io
import re
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from core.errors import UnreadableFile
from core.payments.camt import read_camt053
from core.payments.files import read_bank_file, sniff
from core.payments.mt940 import read_mt940
from core.payments.transactions import BankTransaction

FIXTURES = Path(__file__).parent / "fixtures" / "bank"
CAMT_V02 = FIXTURES / "camt053_v02.xml"
CAMT_V04 = FIXTURES / "camt053_v04.xml"
CAMT_V08 = FIXTURES / "camt053_v08.xml"
MT940 = FIXTURES / "statement.mt940"
ALL_FILES = (CAMT_V02, CAMT_V04, CAMT_V08, MT940)

ACCOUNT = "DE89370400440532013000"
SECOND_ACCOUNT = "DE68100200304000000002"
VIRTUAL_1 = "DE95100200304000000001"
VIRTUAL_3 = "DE41100200304000000003"
MUSTER = "DE45200411331234567890"
ALPHA = "DE36700202700015004811"
BETA = "DE36500105175407324396"
LANDLORD = "DE24100200309000000042"
BLZ_ACCOUNT = "37040044/0532013000"
SUPPORTED = "camt.053.001.02 to camt.053.001.08"


def tx(key: str, amount: int, credit: bool, booked_on: date, **fields) -> BankTransaction:
    fields.setdefault("account_iban", ACCOUNT)
    fields.setdefault("currency", "EUR")
    fields.setdefault("reversal", False)
    return BankTransaction(key=key, amount=amount, credit=credit, booked_on=booked_on, **fields)


MAR_1, MAR_2, MAR_4, MAR_5 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 4), date(2024, 3, 5)

EXPECTED_V02 = [
    tx(f"camt:{ACCOUNT}:C:tx:2024030100001-1", 119000, True, MAR_1, value_on=MAR_1,
       credited_iban=VIRTUAL_1, debtor_name="Muster Handel GmbH", debtor_iban=MUSTER,
       remittance=("Rechnung 2024-0017 BP1001/33", "33 vielen Dank"),
       end_to_end_id="E2E-BUYER-0001", bank_reference="2024030100001-1"),
    tx(f"camt:{ACCOUNT}:C:ntry:BATCH-77:1", 10000, True, MAR_1, value_on=MAR_2,
       debtor_name="Alpha Werkzeuge KG", debtor_iban=ALPHA, remittance=("BP1002/3333",),
       end_to_end_id="E2E-BATCH-1", bank_reference="BATCH-77"),
    tx(f"camt:{ACCOUNT}:C:ntry:BATCH-77:2", 20000, True, MAR_1, value_on=MAR_2,
       debtor_name="Beta Bau AG", debtor_iban=BETA, creditor_reference="RF70INV20240017",
       bank_reference="BATCH-77"),
    tx(f"camt:{ACCOUNT}:C:ntry:BATCH-77:3", 30000, True, MAR_1, value_on=MAR_2,
       debtor_name="Gamma Logistik GmbH", end_to_end_id="E2E-BATCH-3",
       bank_reference="BATCH-77"),
    tx(f"camt:{ACCOUNT}:D:stmt:STMT-2024-03-01-A:3:1", 25000, False, MAR_1, value_on=MAR_1,
       debtor_name="Vermieter KG", debtor_iban=LANDLORD, remittance=("Miete Maerz 2024",),
       end_to_end_id="MIETE-2024-03"),
    tx(f"camt:{ACCOUNT}:D:ntry:FEE-202402", 490, False, MAR_1, value_on=date(2024, 2, 29),
       bank_reference="FEE-202402"),
]

EXPECTED_V04 = [
    tx(f"camt:{ACCOUNT}:C:ntry:2024030400011", 35700, True, MAR_4, value_on=MAR_4,
       credited_iban=ACCOUNT, debtor_name="Delta Moebel GmbH & Co. KG", debtor_iban=BETA,
       creditor_reference="RF1577000342", end_to_end_id="RE-2024-0042",
       bank_reference="2024030400011"),
    tx(f"camt:{ACCOUNT}:DR:tx:2024030400012-1", 119000, False, MAR_4, reversal=True,
       value_on=MAR_1, credited_iban=VIRTUAL_1, debtor_name="Muster Handel GmbH",
       debtor_iban=MUSTER, remittance=("Rechnung 2024-0017 BP1001/33", "33 vielen Dank"),
       end_to_end_id="E2E-BUYER-0001", bank_reference="2024030400012-1"),
    tx(f"camt:{ACCOUNT}:C:ntry:2024030400013", 95342, True, MAR_4, value_on=MAR_4,
       debtor_name="Epsilon Handels GmbH", debtor_iban=ALPHA,
       remittance=("BP1003/3333 Teil 1", "BP1004/3333 Teil 2", "Skonto abgezogen"),
       creditor_reference="RF42BP10043333", bank_reference="2024030400013"),
    tx(f"camt:{SECOND_ACCOUNT}:C:stmt:STMT-2024-03-04-B:1:1", 99, True, MAR_4,
       account_iban=SECOND_ACCOUNT, debtor_name="Zeta Einzelhandel e.K.",
       remittance=("Testueberweisung",)),
]

EXPECTED_V08 = [
    tx(f"camt:{ACCOUNT}:C:tx:2024030500021-A", 238000, True, MAR_5, value_on=MAR_5,
       credited_iban=VIRTUAL_3, debtor_name="Eta Maschinenbau GmbH", debtor_iban=MUSTER,
       remittance=("BP1005/3333",), creditor_reference="RF70INV20240017",
       end_to_end_id="ETA-77120", bank_reference="2024030500021-A"),
    tx(f"camt:{ACCOUNT}:D:ntry:2024030500022", 8000, False, MAR_5, value_on=MAR_5,
       debtor_name="Eta Maschinenbau GmbH", debtor_iban=MUSTER,
       remittance=("Erstattung Guthaben BP1005/3333",), end_to_end_id="REFUND-1005",
       bank_reference="2024030500022"),
    tx(f"camt:{ACCOUNT}:DR:ntry:2024030500023", 35700, False, MAR_5, reversal=True,
       value_on=MAR_4, debtor_name="Delta Moebel GmbH & Co. KG", debtor_iban=BETA,
       end_to_end_id="RE-2024-0042", bank_reference="2024030500023"),
    tx(f"camt:{ACCOUNT}:CR:ntry:2024030500024", 8000, True, MAR_5, reversal=True,
       debtor_name="Eta Maschinenbau GmbH", debtor_iban=MUSTER,
       remittance=("Erstattung Guthaben BP1005/3333",), end_to_end_id="REFUND-1005",
       bank_reference="2024030500024"),
]

EXPECTED_MT940 = [
    tx(f"mt940:{BLZ_ACCOUNT}:ref:240301-ABC123:2024-03-01:C:119000:1", 119000, True, MAR_1,
       account_iban=BLZ_ACCOUNT, value_on=MAR_1, debtor_name="Bäckerei Müller GmbH & Co. KG",
       debtor_iban=MUSTER, remittance=("Rechnung 2024-0017 BP1001/3333 vielen Dank",),
       end_to_end_id="E2E-BUYER-0001", bank_reference="240301-ABC123"),
    tx(f"mt940:{BLZ_ACCOUNT}:ref:240301-XYZ987:2024-03-01:D:25000:1", 25000, False, MAR_1,
       account_iban=BLZ_ACCOUNT, value_on=MAR_1, debtor_name="Vermieter KG",
       debtor_iban=LANDLORD, remittance=("Miete Maerz 2024",), bank_reference="240301-XYZ987"),
    tx(f"mt940:{BLZ_ACCOUNT}:stmt:STARTUMS:00061/001:2024-02-29:3", 490, False, MAR_1,
       account_iban=BLZ_ACCOUNT, value_on=MAR_1,
       remittance=("Kontofuehrung Februar 2024", "Entgelt laut Preisaushang")),
    tx(f"mt940:{BLZ_ACCOUNT}:stmt:STARTUMS:00062/001:2024-03-01:1", 119000, False, MAR_4,
       account_iban=BLZ_ACCOUNT, reversal=True, value_on=MAR_4,
       debtor_name="Bäckerei Müller GmbH & Co. KG", debtor_iban=MUSTER,
       remittance=("Storno Gutschrift vom 01.03.2024",), end_to_end_id="E2E-BUYER-0001"),
    tx(f"mt940:{BLZ_ACCOUNT}:ref:240304-QRS1:2024-03-04:C:7550:1", 7550, True, MAR_4,
       account_iban=BLZ_ACCOUNT, value_on=MAR_4, debtor_name="Alte Kontonummer AG",
       remittance=("BP1006/3333Rest",), bank_reference="240304-QRS1"),
    tx(f"mt940:{BLZ_ACCOUNT}:ref:240305-XYZ987R:2024-03-05:RD:25000:1", 25000, True, MAR_5,
       account_iban=BLZ_ACCOUNT, reversal=True, value_on=MAR_5, debtor_name="Vermieter KG",
       debtor_iban=LANDLORD, remittance=("Miete Maerz 2024 Empfaenger unbekannt",),
       bank_reference="240305-XYZ987R"),
]

EXPECTED = {CAMT_V02: EXPECTED_V02, CAMT_V04: EXPECTED_V04, CAMT_V08: EXPECTED_V08,
            MT940: EXPECTED_MT940}


def camt(entries: str, *, version: str = "04", statement: str | None = None) -> bytes:
    """A small camt.053 document: one statement of ``ACCOUNT`` holding ``entries``."""
    statement = statement or (
        f"<Id>S-1</Id><Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>EUR</Ccy></Acct>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">'
        "<BkToCstmrStmt><GrpHdr><MsgId>M-1</MsgId><CreDtTm>2024-03-05T06:00:00</CreDtTm>"
        f"</GrpHdr><Stmt>{statement}{entries}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def entry(amount: str = '<Amt Ccy="EUR">10.00</Amt>', indicator: str = "CRDT",
          booked: str = "<BookgDt><Dt>2024-03-05</Dt></BookgDt>", details: str = "") -> str:
    return (f"<Ntry>{amount}<CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>{booked}"
            f"<BkTxCd/>{details}</Ntry>")


def read(data: bytes) -> list[BankTransaction]:
    return list(read_camt053(io.BytesIO(data)))


# -- every field of every transaction ------------------------------------------------------

@pytest.mark.parametrize("path", [CAMT_V02, CAMT_V04, CAMT_V08], ids=lambda p: p.stem)
def test_camt053_is_read_field_by_field(path: Path) -> None:
    assert list(read_camt053(path)) == EXPECTED[path]


def test_mt940_is_read_field_by_field() -> None:
    assert list(read_mt940(MT940)) == EXPECTED_MT940


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_a_binary_stream_reads_like_the_path(path: Path) -> None:
    reader = read_mt940 if path == MT940 else read_camt053
    with path.open("rb") as stream:
        assert list(reader(stream)) == EXPECTED[path]


def test_mt940_in_utf8_reads_like_latin1() -> None:
    utf8 = MT940.read_bytes().decode("latin-1").encode("utf-8")
    assert list(read_mt940(io.BytesIO(utf8))) == EXPECTED_MT940


def test_mt940_iban_account_in_a_swift_envelope() -> None:
    data = (b"{1:F01COBADEFFAXXX0000000000}{2:I940COBADEFFXXXXN}{4:\r\n:20:951110\r\n"
            b":25:DE89 3704 0044 0532 0130 00\r\n:28C:27/01\r\n:60F:C240229EUR1,00\r\n"
            b":61:2403010301C1,NTRF//B1\r\n:86:Test\r\n:62F:C240301EUR2,00\r\n-}\r\n")
    assert list(read_mt940(io.BytesIO(data))) == [
        tx(f"mt940:{ACCOUNT}:ref:B1:2024-03-01:C:100:1", 100, True, MAR_1, value_on=MAR_1,
           remittance=("Test",), bank_reference="B1")]


def test_keys_are_stable_across_reads_and_distinct() -> None:
    first = [t.key for path in ALL_FILES for t in read_bank_file(path)]
    second = [t.key for path in ALL_FILES for t in read_bank_file(path)]
    assert first == second
    assert len(set(first)) == len(first)
    assert all(k.startswith(("camt:DE", "mt940:")) for k in first)


def test_duplicate_transaction_references_fall_back_to_places() -> None:
    details = ("<NtryDtls><TxDtls><Refs><AcctSvcrRef>SAME</AcctSvcrRef></Refs>"
               '<Amt Ccy="EUR">4.00</Amt></TxDtls><TxDtls><Refs><AcctSvcrRef>SAME'
               '</AcctSvcrRef></Refs><Amt Ccy="EUR">6.00</Amt></TxDtls></NtryDtls>')
    keys = [t.key for t in read(camt(entry(details=details)))]
    assert keys == [f"camt:{ACCOUNT}:C:stmt:S-1:1:1", f"camt:{ACCOUNT}:C:stmt:S-1:1:2"]


def test_mt940_keys_come_from_the_transaction_not_the_rest_of_the_file() -> None:
    # a later export repeating the statement, with a return under the same bank
    # reference, keeps the credit's key: it is not booked twice
    first = [t.key for t in read_mt940(MT940)]
    text = MT940.read_bytes().replace(b"//240304-QRS1", b"//240301-ABC123")
    again = [t.key for t in read_mt940(io.BytesIO(text))]
    assert again[0] == first[0]
    assert len(set(again)) == len(again)


BOOKED_NONREF = "<BookgDt><Dt>2024-03-05</Dt></BookgDt><AcctSvcrRef>NONREF</AcctSvcrRef>"


def test_camt_placeholder_references_are_no_keys() -> None:
    entries = (entry('<Amt Ccy="EUR">10.00</Amt>', booked=BOOKED_NONREF)
               + entry('<Amt Ccy="EUR">20.00</Amt>', booked=BOOKED_NONREF))
    keys = [t.key for t in read(camt(entries))]
    assert len(set(keys)) == 2 and not any("NONREF" in k for k in keys)


def test_amounts_follow_the_currency_exponent() -> None:
    entries = entry('<Amt Ccy="JPY">12000</Amt>') + entry('<Amt Ccy="BHD">1.250</Amt>')
    assert [(t.amount, t.currency) for t in read(camt(entries))] == [
        (12000, "JPY"), (1250, "BHD")]


# -- unsafe, broken and unknown files ------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"><BkToCstmrStmt>
<Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"><BkToCstmrStmt>
<Stmt><Id>&secret;</Id></Stmt></BkToCstmrStmt></Document>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/camt.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"/>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
                         ids=["billion-laughs", "external-entity", "external-dtd"])
def test_xml_entities_are_refused(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="declares XML entities"):
        read(data)
    path = tmp_path / "evil.xml"
    path.write_bytes(data)
    with pytest.raises(UnreadableFile, match="declares XML entities"):
        list(read_bank_file(path))


def test_a_truncated_file_is_refused() -> None:
    data = CAMT_V04.read_bytes()
    with pytest.raises(UnreadableFile, match="the file is not complete XML"):
        read(data[: len(data) // 2])


def test_malformed_xml_is_refused() -> None:
    data = CAMT_V02.read_bytes().replace(b"</Dbtr>", b"</Dbtor>", 1)
    with pytest.raises(UnreadableFile, match="the file is not complete XML: mismatched tag"):
        read(data)


@pytest.mark.parametrize("namespace", [
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.09",
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.01",
    "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08",
    "urn:example:not-iso",
])
def test_unknown_versions_and_documents_are_refused(namespace: str) -> None:
    data = camt(entry()).replace(
        b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.04", namespace.encode())
    with pytest.raises(UnreadableFile, match=re.escape(f"supported versions: {SUPPORTED}")):
        read(data)


def test_a_document_without_namespace_is_refused() -> None:
    with pytest.raises(UnreadableFile, match=re.escape(f"supported versions: {SUPPORTED}")):
        read(b"<Document><BkToCstmrStmt/></Document>")


@pytest.mark.parametrize(("entries", "message"), [
    (entry('<Amt Ccy="EUR">12,50</Amt>'),
     "entry 1: Ntry/Amt is not a positive decimal amount"),
    (entry('<Amt Ccy="EUR">-5.00</Amt>'),
     "entry 1: Ntry/Amt is not a positive decimal amount"),
    (entry('<Amt Ccy="EUR">1e3</Amt>'), "entry 1: Ntry/Amt is not a positive decimal amount"),
    (entry('<Amt Ccy="EUR">1.234</Amt>'), "entry 1: Ntry/Amt has more decimals than EUR"),
    (entry('<Amt Ccy="EUX">1.00</Amt>'), "entry 1: Ntry/Amt/@Ccy is not a known"),
    (entry(amount=""), "entry 1: Ntry/Amt is missing"),
    (entry(indicator=""), "entry 1: Ntry/CdtDbtInd is missing"),
    (entry(indicator="CREDIT"), "entry 1: Ntry/CdtDbtInd is missing or not CRDT/DBIT"),
    (entry(booked=""), "entry 1: Ntry/BookgDt is missing"),
    (entry(booked="<BookgDt/>"), "entry 1: Ntry/BookgDt/Dt is missing"),
    (entry(booked="<BookgDt><Dt>2024-02-30</Dt></BookgDt>"),
     "entry 1: Ntry/BookgDt is not a valid date"),
    (entry(booked="<BookgDt><DtTm>gestern</DtTm></BookgDt>"),
     "entry 1: Ntry/BookgDt is not a valid date"),
    (entry() + entry(details='<NtryDtls><TxDtls><Amt Ccy="EUR">ten</Amt></TxDtls></NtryDtls>'),
     "entry 2: Ntry/NtryDtls/TxDtls/Amt is not a positive decimal amount"),
    (entry(details='<NtryDtls><TxDtls><Amt Ccy="EUR">4.00</Amt></TxDtls>'
                   "<TxDtls/></NtryDtls>"),
     "entry 1: Ntry/NtryDtls/TxDtls/Amt is missing in some"),
])
def test_a_bad_entry_is_refused_by_element_and_number(entries: str, message: str) -> None:
    with pytest.raises(UnreadableFile, match=message):
        read(camt(entries))


def test_a_v02_transaction_amount_is_named_by_its_path() -> None:
    details = ('<NtryDtls><TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">-1.00</Amt></TxAmt>'
               "</AmtDtls></TxDtls></NtryDtls>")
    with pytest.raises(UnreadableFile, match="entry 1: Ntry/NtryDtls/TxDtls/AmtDtls/TxAmt/Amt"):
        read(camt(entry(details=details), version="02"))


@pytest.mark.parametrize(("statement", "message"), [
    ("<Id>S-1</Id><Acct><Id><Othr><Id>0532013000</Id></Othr></Id></Acct>",
     "statement 1: Stmt/Acct/Id/IBAN is missing"),
    (f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id></Acct>", "statement 1: Stmt/Id is missing"),
])
def test_a_statement_without_id_or_iban_is_refused(statement: str, message: str) -> None:
    with pytest.raises(UnreadableFile, match=message):
        read(camt(entry(), statement=statement))


def test_a_file_without_statement_is_refused() -> None:
    data = camt("").replace(b"<Stmt>", b"").replace(b"</Stmt>", b"")
    with pytest.raises(UnreadableFile, match="no statement"):
        read(data)


def test_an_empty_statement_reads_as_nothing() -> None:
    assert read(camt("")) == []


@pytest.mark.parametrize(("data", "message"), [
    (b":20:STARTUMS\r\n:25:37040044/0532013000\r\n:28C:1/1\r\n:60F:C240229EUR1,00\r\n"
     b":61:24030103 01C 1,00\r\n:62F:C240301EUR2,00\r\n", "tag :61: does not match"),
    (b":20:STARTUMS\r\n:25:37040044/0532013000\r\n:28C:1/1\r\n:60F:C240229EUR-1,00\r\n",
     "MT940 file cannot be read"),
    (b":20:STARTUMS\r\n:28C:1/1\r\n:60F:C240229EUR1,00\r\n:61:2403010301C1,00NTRFNONREF\r\n"
     b":62F:C240301EUR2,00\r\n", "tag :25: \\(account\\) is missing"),
    (b":20:STARTUMS\r\n:25:37040044/0532013000\r\n:61:2403010301C1,00NTRFNONREF\r\n",
     "no known currency"),
    (b"Kontoauszug vom 01.03.2024\r\nkein MT940\r\n", "no MT940 statement"),
])
def test_an_unreadable_mt940_file_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(UnreadableFile, match=message):
        list(read_mt940(io.BytesIO(data)))


def test_mt940_errors_do_not_repeat_the_file_content() -> None:
    data = (b":20:STARTUMS\r\n:25:37040044/0532013000\r\n:28C:1/1\r\n:60F:C240229EUR1,00\r\n"
            b":61:GEHEIM Muster Handel\r\n")
    with pytest.raises(UnreadableFile) as caught:
        list(read_mt940(io.BytesIO(data)))
    assert "GEHEIM" not in str(caught.value)


# -- the kind is sniffed -------------------------------------------------------------------

@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_read_bank_file_dispatches_by_kind(path: Path) -> None:
    assert list(read_bank_file(path)) == EXPECTED[path]


def test_sniff_names_the_kinds() -> None:
    assert sniff(CAMT_V02.read_bytes()) == "camt.053"
    assert sniff(b"\xef\xbb\xbf" + CAMT_V08.read_bytes()) == "camt.053"
    assert sniff(CAMT_V04.read_text().encode("utf-16")) == "camt.053"
    assert sniff(MT940.read_bytes()) == "mt940"
    assert sniff(b"{1:F01COBADEFFAXXX0000000000}{2:I940COBADEFFXXXXN}{4:\r\n:20:X\r\n") == \
        "mt940"
    assert sniff(camt("").replace(b"camt.053.001.04", b"camt.054.001.08")) is None
    assert sniff(b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
                 b'pain.001.001.09"/>') is None
    assert sniff(b"%PDF-1.7\n") is None
    assert sniff(b'{"20": "x"}') is None
    assert sniff(b"") is None


def test_a_utf16_camt_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "utf16.xml"
    path.write_bytes(CAMT_V04.read_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
                     .encode("utf-16"))
    assert list(read_bank_file(path)) == EXPECTED_V04


@pytest.mark.parametrize("content", [b"", b"%PDF-1.7\n", b"date;amount\n2024-03-01;12.00\n",
                                     b'<?xml version="1.0"?><Invoice/>'])
def test_read_bank_file_refuses_other_kinds(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=r"upload\.bin is not a bank statement file") as e:
        read_bank_file(path)
    assert "camt.053" in str(e.value)
    assert "MT940" in str(e.value)


def test_an_unsupported_camt_version_is_named_by_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "new.xml"
    path.write_bytes(camt(entry(), version="13"))
    with pytest.raises(UnreadableFile, match=re.escape(f"supported versions: {SUPPORTED}")):
        list(read_bank_file(path))


# -- streaming -----------------------------------------------------------------------------

ENTRY_TEMPLATE = """
      <Ntry>
        <Amt Ccy="EUR">{amount}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2024-03-05</Dt></BookgDt>
        <ValDt><Dt>2024-03-05</Dt></ValDt>
        <AcctSvcrRef>BIG-{n:08d}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>
        </Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>E2E-{n:08d}</EndToEndId></Refs>
            <Amt Ccy="EUR">{amount}</Amt>
            <RltdPties>
              <Dbtr><Nm>Kunde {n} Handelsgesellschaft mbH</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>{debtor}</IBAN></Id></DbtrAcct>
              <CdtrAcct><Id><IBAN>{virtual}</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RmtInf>
              <Ustrd>Rechnung {n} BP{n}/3333 vielen Dank fuer Ihren Einkauf</Ustrd>
              <Ustrd>Kundennummer {n} Zahlung ohne Abzug</Ustrd>
            </RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>"""


def write_large_camt(path: Path, count: int) -> None:
    head, tail = camt("|").decode().split("|")
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        for n in range(1, count + 1):
            out.write(ENTRY_TEMPLATE.format(n=n, amount=f"{n % 9000 + 1}.{n % 100:02d}",
                                            debtor=MUSTER, virtual=VIRTUAL_1))
        out.write(tail)


@pytest.mark.slow
def test_a_large_camt_file_is_read_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "large.xml"
    count = 20_000
    write_large_camt(path, count)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        read_count = sum(1 for _ in read_bank_file(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read_count == count
    assert peak < min(20 * 2**20, size // 4), (
        f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB file")
