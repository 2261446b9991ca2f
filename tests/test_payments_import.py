"""Statement files into the ledger: camt.053 in three versions and MT940, both remittance
forms, a batch booking, a part payment, an over-payment, bank returns, a file imported twice,
and files refused whole."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from schwifty import IBAN
from sqlalchemy import func, select

from core.errors import UnreadableFile
from core.ledger.db import session_scope
from core.ledger.models import BankTransactionRecord, Buyer, Payment
from core.payments.booking import import_file
from timeline import DAY0, receivable, rf_of

ACCOUNT = "DE02100200300000000001"
BUYER_A = str(IBAN.generate("DE", bank_code="10020030", account_code="4000000000").compact)
BUYER_B_VAT = "DE811569869"


def _tx(version: int, *, amount: str | None, name: str, credited: str | None = None,
        debtor_iban: str = "DE89370400440532013000", ustrd: tuple[str, ...] = (),
        rf: str | None = None, e2e: str = "NOTPROVIDED") -> str:
    """One TxDtls the way this version of camt.053 nests it."""
    amt = "" if amount is None else (
        f'<Amt Ccy="EUR">{amount}</Amt>' if version >= 4 else
        f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>')
    party = f"<Pty><Nm>{name}</Nm></Pty>" if version >= 8 else f"<Nm>{name}</Nm>"
    cdtr = f"<CdtrAcct><Id><IBAN>{credited}</IBAN></Id></CdtrAcct>" if credited else ""
    strd = (f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{rf}</Ref></CdtrRefInf></Strd>") if rf else ""
    lines = "".join(f"<Ustrd>{line}</Ustrd>" for line in ustrd)
    return (f"<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>{amt}"
            f"<RltdPties><Dbtr>{party}</Dbtr><DbtrAcct><Id><IBAN>{debtor_iban}</IBAN></Id>"
            f"</DbtrAcct>{cdtr}</RltdPties><RmtInf>{lines}{strd}</RmtInf></TxDtls>")


def _entry(version: int, ref: str, amount: str, day: int, txs: list[str], *,
           debit: bool = False, reversal: bool = False) -> str:
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= 8 else "<Sts>BOOK</Sts>"
    booked = (DAY0 + timedelta(days=day)).isoformat()
    return (f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{"DBIT" if debit else "CRDT"}'
            f'</CdtDbtInd>{"<RvslInd>true</RvslInd>" if reversal else ""}{status}'
            f"<BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>{booked}</Dt></ValDt>"
            f"<AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls>{''.join(txs)}</NtryDtls></Ntry>")


def camt(path: Path, version: int, entries: list[str]) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.0{version}">'
        "<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-03-20T06:00:00</CreDtTm>"
        f"</GrpHdr><Stmt><Id>{path.stem}</Id><Acct><Id><IBAN>{ACCOUNT}</IBAN></Id></Acct>"
        f"{''.join(entries)}</Stmt></BkToCstmrStmt></Document>", encoding="utf-8")
    return path


MT940 = """:20:STARTUMS
:25:10020030/0000000001
:28C:00042/001
:60F:C260323EUR10000,00
:61:2603230323CR690,00NTRFNONREF//260323-A1
:86:166?00SEPA-GUTSCHRIFT?109310?20EREF+E2E-MT-1?21SVWZ+Rest Rechnung BP10
?2201/3333 danke?31DE89370400440532013000?32Muster Buerobedarf GmbH
:61:2603230323DR4,90NCHGNONREF
:86:Kontofuehrung Maerz
:62F:C260323EUR10685,10
-
"""


@pytest.fixture
def ledger_with_orders(buy, configure):
    """Buyer A owes 1001 and 1002, buyer B owes 1003: 1,190.00 EUR each, RF references on."""
    configure(rf_references=True)
    buy("1001", activate_on=0)
    buy("1002", activate_on=1)
    buy("1003", activate_on=1, buyer={
        "company": "Beispiel Handel", "legal_form": "GmbH", "vat_id": BUYER_B_VAT,
        "first_name": "Hans", "last_name": "Beispiel", "email": "hans@beispiel.example",
        "street": "Weg 1", "postcode": "20095", "city": "Hamburg", "country": "DE"})


def state(engine) -> dict:
    with session_scope(engine, write=False) as session:
        credit = dict(session.execute(select(Buyer.virtual_iban, Buyer.credit)).all())
        paid = int(session.scalar(select(func.coalesce(func.sum(Payment.amount), 0))))
        records = session.scalar(select(func.count()).select_from(BankTransactionRecord))
    return {"open": [receivable(engine, o).open_amount for o in ("1001", "1002", "1003")],
            "status": [receivable(engine, o).status for o in ("1001", "1002", "1003")],
            "credit_a": credit[BUYER_A], "paid": paid, "records": records}


def test_statement_files_book_each_match_exactly(engine, ledger_with_orders, tmp_path):
    # camt.053.001.02: one batch booking of two transfers with the older amount nesting:
    # part of 1001 through A's virtual IBAN, and 1003 named in the text (cut across lines)
    batch = camt(tmp_path / "day10.xml", 2, [_entry(2, "BATCH-1", "1690.00", 10, [
        _tx(2, amount="500.00", name="Muster Buerobedarf", credited=BUYER_A),
        _tx(2, amount="1190.00", name="Beispiel Handel", ustrd=("Rechnung BP 10", "03/3333"),
            debtor_iban="DE75512108001245126199")])])
    summary = import_file(engine, batch)
    assert summary.outcomes == {"booked": 2}
    assert state(engine)["open"] == [69_000, 119_000, 0]

    # camt.053.001.04: 1002 by its structured RF reference; then an over-payment to A's IBAN
    rf = rf_of(engine, "1002")
    over = camt(tmp_path / "day12.xml", 4, [
        _entry(4, "RF-1", "1190.00", 12, [_tx(4, amount=None, name="Muster", rf=rf)]),
        _entry(4, "OVER-1", "2000.00", 12, [
            _tx(4, amount=None, name="Muster", credited=BUYER_A, e2e="E2E-OVER")])])
    assert import_file(engine, over).outcomes == {"booked": 2}
    after_over = state(engine)
    assert after_over["open"] == [0, 0, 0]
    assert after_over["status"] == ["settled"] * 3
    assert after_over["credit_a"] == 200_000 - 69_000

    # importing a file again books nothing twice
    assert import_file(engine, over).outcomes == {"duplicate": 2}
    assert import_file(engine, batch).outcomes == {"duplicate": 2}
    assert state(engine) == after_over

    # camt.053.001.08: the bank returns the over-payment: 1001 owes its rest again, the
    # credit is gone
    returned = camt(tmp_path / "day14.xml", 8, [_entry(8, "RET-1", "2000.00", 14, [
        _tx(8, amount="2000.00", name="Muster", credited=BUYER_A, e2e="E2E-OVER")],
        debit=True, reversal=True)])
    assert import_file(engine, returned).outcomes == {"booked": 1}
    after_return = state(engine)
    assert after_return["open"] == [69_000, 0, 0]
    assert after_return["status"] == ["open", "settled", "settled"]
    assert after_return["credit_a"] == 0
    assert after_return["paid"] == 3 * 119_000 - 69_000

    # MT940: the rest of 1001 by its reference in the :86: purpose (cut as banks cut it);
    # the account charge is no payment
    mt940 = tmp_path / "day21.sta"
    mt940.write_bytes(MT940.replace("\n", "\r\n").encode("latin-1"))
    assert import_file(engine, mt940).outcomes == {"booked": 1, "ignored": 1}
    final = state(engine)
    assert final["open"] == [0, 0, 0] and final["credit_a"] == 0
    assert final["paid"] == 3 * 119_000

    with session_scope(engine, write=False) as session:
        how = dict(session.execute(select(BankTransactionRecord.amount,
                                          BankTransactionRecord.matched_by)).all())
    assert how == {50_000: "virtual_iban", 119_000: "rf", 200_000: "reversal",
                   69_000: "reference", 490: None}


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Id>&lol3;</Id></Stmt></BkToCstmrStmt></Document>"""


def test_a_bad_file_is_refused_whole_and_books_nothing(engine, ledger_with_orders, tmp_path):
    good = _entry(8, "OK-1", "100.00", 10, [_tx(8, amount="100.00", name="Muster",
                                                credited=BUYER_A)])
    whole = camt(tmp_path / "whole.xml", 8, [good] * 1 + [good.replace("OK-1", "OK-2")])
    cut = tmp_path / "cut.xml"
    cut.write_bytes(whole.read_bytes()[:-120])
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(BOMB, encoding="utf-8")
    before = state(engine)
    with pytest.raises(UnreadableFile, match="not complete XML"):
        import_file(engine, cut)
    with pytest.raises(UnreadableFile, match="entities"):
        import_file(engine, bomb)
    assert state(engine) == before and before["records"] == 0
    assert import_file(engine, whole).outcomes == {"booked": 2}


def test_a_file_of_several_chunks_is_read_once_and_booked_chunk_by_chunk(
        engine, ledger_with_orders, tmp_path, monkeypatch):
    """The check reads the file once; the chunks it kept are booked in turn, each in its
    transaction, with a bank return in the middle of one; the caller hears the count
    first, then each chunk."""
    from core.payments import booking

    reads = []

    def read_bank_file(path):
        reads.append(path)
        return booking_read(path)

    booking_read = booking.read_bank_file
    monkeypatch.setattr(booking, "read_bank_file", read_bank_file)
    monkeypatch.setattr(booking, "CHUNK", 2)
    pay = [_entry(8, f"PAY-{n}", "100.00", 10 + n, [
        _tx(8, amount="100.00", name="Muster", credited=BUYER_A, e2e=f"E2E-{n}")])
        for n in range(4)]
    back = _entry(8, "RET-2", "100.00", 16, [
        _tx(8, amount="100.00", name="Muster", credited=BUYER_A, e2e="E2E-2")],
        debit=True, reversal=True)
    path = camt(tmp_path / "chunks.xml", 8, [*pay[:3], back, pay[3]])
    heard = []
    summary = import_file(engine, path, counted=lambda n: heard.append(("count", n)),
                          progress=lambda n: heard.append(("chunk", n)))
    assert reads == [path]
    assert heard == [("count", 5), ("chunk", 2), ("chunk", 2), ("chunk", 1)]
    assert summary.outcomes == {"booked": 5}
    assert state(engine)["open"] == [119_000 - 30_000, 119_000, 119_000]
    with session_scope(engine, write=False) as session:
        statuses = session.execute(select(BankTransactionRecord.amount,
                                          BankTransactionRecord.status,
                                          BankTransactionRecord.matched_by)
                                   .order_by(BankTransactionRecord.id)).all()
    assert [tuple(row) for row in statuses] == [
        (10_000, "booked", "virtual_iban"), (10_000, "booked", "virtual_iban"),
        (10_000, "reversed", "virtual_iban"), (10_000, "booked", "reversal"),
        (10_000, "booked", "virtual_iban")]
    assert import_file(engine, path).outcomes == {"duplicate": 5}


def test_a_long_number_after_a_reference_is_read_as_no_merchant(engine, ledger_with_orders,
                                                                   tmp_path):
    # a payer's customer number after the reference once asked PostgreSQL for a merchant
    # id beyond its integers, and the whole file failed
    from core.payments.matching import reference_groups

    assert all(merchant <= 2**31 - 1 for group in reference_groups(
        ["BP1001/3333 Kd-Nr 20260312123456 99999999999999999999"]) for _, merchant in group)
    path = camt(tmp_path / "long.xml", 8, [
        _entry(8, "PAY-1", "100.00", 10, [_tx(8, amount="100.00", name="Muster",
               ustrd=("BP1001/3333 Kd-Nr 20260312123456 99999999999999999999",))]),
        _entry(8, "PAY-2", "50.00", 11, [_tx(8, amount="50.00", name="Muster",
               credited=BUYER_A)])])
    assert import_file(engine, path).outcomes == {"booked": 2}
