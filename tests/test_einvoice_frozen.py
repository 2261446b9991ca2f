"""An issued e-invoice does not change (GoBD, § 14 UStG): the first render of a document's
XML or PDF is stored in the ledger (``issued_documents``) and every later download, export
and e-mail gets those bytes, although the merchant's seller details, name and account
holder, the buyer in the order's snapshot (overwritten by later shop webhooks) and the
line names change afterwards. The PDF carries the stored XML byte for byte, and two first
renders at once store one file, which both return."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import func, select
from test_einvoice_cii import MIXED, SELLER, place
from test_einvoice_pdf import needs_fonts

from core.einvoice import documents as einvoice_documents
from core.einvoice.cii import document_xml
from core.einvoice.documents import document_file, render
from core.einvoice.pdfa import check_pdfa
from core.ledger.db import session_scope
from core.ledger.models import Invoice, IssuedDocument, Order, OrderLine
from core.ledger.store import Ledger
from core.schemas import load_snapshot
from orders import changed

NEW_COMPANY = "Umfirmiert Handels AG"


@pytest.fixture
def seller(engine, shop):
    with session_scope(engine) as session:
        Ledger(session).configure_merchant(3333, seller=SELLER)


def rendered(engine, kinds=("xml", "pdf")) -> dict[tuple[str, str], bytes]:
    """Every document's files, rendered in one writing session (as a download does)."""
    with session_scope(engine) as session:
        ledger = Ledger(session)
        return {(invoice.number, kind): render(ledger, invoice, kind)
                for invoice in session.scalars(select(Invoice).order_by(Invoice.id))
                for kind in kinds}


def change_everything(engine) -> None:
    """What happens after issuing: the merchant's details, name and account holder change,
    a later webhook brings a renamed buyer company, the shop renames the lines."""
    with session_scope(engine) as session:
        Ledger(session).configure_merchant(
            3333, name="ACME Neu GmbH", account_holder="ACME Neu Treuhand",
            seller={"street": "Neue Allee 1", "city": "Potsdam", "postcode": "14467",
                    "phone": "+49 331 7654321"})
        for order in session.scalars(select(Order)):
            snapshot = dict(order.snapshot)
            snapshot["buyer"] = {**snapshot["buyer"], "company": NEW_COMPANY}
            order.snapshot = snapshot
        for line in session.scalars(select(OrderLine)):
            line.name = f"{line.name} (renamed)"


def fresh_xml(engine) -> list[bytes]:
    """The XML the current data would make (what every call returned before)."""
    with session_scope(engine, write=False) as session:
        ledger = Ledger(session)
        return [document_xml(ledger, invoice)
                for invoice in session.scalars(select(Invoice).order_by(Invoice.id))]


def stored_rows(engine) -> int:
    with session_scope(engine, write=False) as session:
        return session.scalar(select(func.count(IssuedDocument.id)))


def assert_frozen(engine, before: dict[tuple[str, str], bytes]) -> None:
    change_everything(engine)
    assert all(NEW_COMPANY.encode() in xml for xml in fresh_xml(engine))  # the data did change
    after = rendered(engine, kinds=sorted({kind for _, kind in before}))
    assert after == before  # byte for byte
    for (number, kind), data in after.items():
        assert NEW_COMPANY.encode() not in data
        if kind == "pdf":
            report = check_pdfa(data)
            assert report.ok, f"{number}: {report}"
            assert report.xml == after[number, "xml"]  # the stored XML, inside
    assert stored_rows(engine) == len(before)


@needs_fonts
def test_an_issued_invoice_stays_as_it_was(feed, engine, seller):
    place(feed, "2001", MIXED, status="completed")
    before = rendered(engine)
    ((number, _), _) = before
    assert check_pdfa(before[number, "pdf"]).xml == before[number, "xml"]
    assert_frozen(engine, before)


@needs_fonts
def test_an_issued_credit_note_stays_as_it_was(feed, engine, seller):
    data = place(feed, "2002", MIXED, status="completed")
    feed(load_snapshot(changed(data, ordering_key="2026-11-05T10:00:00+00:00",
                               status="cancelled")))
    before = rendered(engine)
    with session_scope(engine, write=False) as session:
        kinds = session.scalars(select(Invoice.kind).order_by(Invoice.id)).all()
    assert kinds == ["invoice", "credit_note"]
    assert_frozen(engine, before)


@needs_fonts
def test_the_pdf_asked_for_first_stores_the_xml_it_carries(feed, engine, seller):
    place(feed, "2003", MIXED[:2], status="completed")
    pdf = rendered(engine, kinds=("pdf",))
    ((number, _),) = pdf
    assert stored_rows(engine) == 2  # the XML first, then the PDF around it
    change_everything(engine)
    xml = rendered(engine, kinds=("xml",))[number, "xml"]
    assert NEW_COMPANY.encode() not in xml
    assert check_pdfa(pdf[number, "pdf"]).xml == xml


def test_the_xml_alone_is_kept_too(feed, engine, seller):
    place(feed, "2004", MIXED, status="completed")
    before = rendered(engine, kinds=("xml",))
    with session_scope(engine, write=False) as session:
        (row,) = session.scalars(select(IssuedDocument))
        assert (row.kind, row.content) == ("xml", next(iter(before.values())))
        assert row.sha256 == hashlib.sha256(row.content).hexdigest()
    with session_scope(engine) as session:
        file = document_file(Ledger(session), session.scalars(select(Invoice)).one(), "xml")
    assert file.data == next(iter(before.values()))
    assert_frozen(engine, before)


def test_a_rolled_back_render_stores_nothing(feed, engine, seller):
    place(feed, "2005", MIXED, status="completed")
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        render(Ledger(session), session.scalars(select(Invoice)).one(), "xml")
        raise RuntimeError("the download failed")
    assert stored_rows(engine) == 0


def test_two_first_renders_store_one_file_and_both_return_it(feed, engine, seller,
                                                               monkeypatch):
    """The second render did not see the first one's file (it was not committed yet when
    it looked) and made its own from changed data: the insert finds the first file there,
    keeps it and returns it."""
    place(feed, "2006", MIXED, status="completed")
    first = rendered(engine, kinds=("xml",))
    change_everything(engine)
    looked = einvoice_documents._stored
    missed: list[bool] = []

    def stored_after_the_race(ledger, invoice, kind):
        if not missed:  # the look before rendering: the other's file is not there yet
            missed.append(True)
            return None
        return looked(ledger, invoice, kind)

    monkeypatch.setattr(einvoice_documents, "_stored", stored_after_the_race)
    second = rendered(engine, kinds=("xml",))
    assert missed and second == first
    assert stored_rows(engine) == 1


def test_two_sessions_rendering_at_once_store_one_file(feed, engine, seller, monkeypatch):
    """Two processes' first downloads at the same time: the second's insert waits for the
    first's transaction (PostgreSQL) or its whole transaction does (SQLite's one writer),
    and both answer the first one's bytes."""
    place(feed, "2007", MIXED, status="completed")
    make = einvoice_documents.document_xml
    main = threading.current_thread()
    reached = threading.Event()

    def made_in_the_other(ledger, invoice):
        if threading.current_thread() is main:
            return make(ledger, invoice)
        reached.set()  # the other session found no stored file: it makes its own
        return b"<the other session's XML/>"

    monkeypatch.setattr(einvoice_documents, "document_xml", made_in_the_other)
    results: list[bytes] = []

    def other() -> None:
        with session_scope(engine) as session:
            results.append(render(Ledger(session), session.scalars(select(Invoice)).one(),
                                  "xml"))

    with session_scope(engine) as session:
        mine = render(Ledger(session), session.scalars(select(Invoice)).one(), "xml")
        thread = threading.Thread(target=other)
        thread.start()
        if engine.dialect.name == "postgresql":  # (on SQLite it waits for this commit)
            assert reached.wait(10)
    thread.join(30)
    assert not thread.is_alive()
    assert results == [mine]
    assert stored_rows(engine) == 1
