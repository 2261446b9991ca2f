"""The e-invoice files of an order's invoices and credit notes, for every place they go: the
command line (``invoicekit documents show|export``), the back office, the download link
(:mod:`core.einvoice.links`), the shop's write-back and the invoice e-mail.

Only the local provider's documents have e-invoices here: a remote provider (Billie…)
issues its own invoices, which the kit does not hold.

A document's file is made once, the first time it is asked for, and kept in the ledger
(table ``issued_documents``); every later download, export and e-mail gets those bytes, so
an issued invoice does not change when the merchant's details, the shop's buyer data or the
order lines change afterwards (GoBD, § 14 UStG).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from core.einvoice.cii import document_xml
from core.einvoice.formats import files_for, format_for
from core.einvoice.links import DocumentLinks
from core.einvoice.seller import missing
from core.errors import NotFound
from core.ledger.db import insert
from core.ledger.models import Invoice, IssuedDocument, Order
from core.ledger.store import Ledger
from core.money import to_decimal

__all__ = ["MIMETYPES", "DocumentFile", "buyer_format", "describe", "document_file",
           "document_url", "find_document", "order_documents", "render", "safe_name"]

LOCAL = "local"  # the provider whose invoices the ledger holds
MIMETYPES = {"xml": "application/xml", "pdf": "application/pdf"}


@dataclass(frozen=True, slots=True)
class DocumentFile:
    """One file of a document: ``RE-2026-00017.xml`` or ``.pdf``."""

    filename: str
    mimetype: str
    data: bytes


def order_documents(ledger: Ledger, order: Order) -> list[Invoice]:
    """The order's invoices and credit notes, oldest first; :class:`NotFound` for an order
    of a remote provider (its documents are the provider's, not the kit's)."""
    documents = list(ledger.session.scalars(
        select(Invoice).where(Invoice.order_id == order.id).order_by(Invoice.id)))
    if not documents and order.provider != LOCAL:
        raise NotFound(f"order {order.order_number} is with provider {order.provider}, which "
                       "issues its own invoices: the kit has no e-invoices of it")
    return documents


def find_document(ledger: Ledger, order: Order, number: str) -> Invoice:
    """The order's document numbered ``number``."""
    for invoice in order_documents(ledger, order):
        if invoice.number == number:
            return invoice
    raise NotFound(f"order {order.order_number} has no invoice or credit note {number!r}")


def render(ledger: Ledger, invoice: Invoice, kind: str) -> bytes:
    """The document's ``xml`` (XRechnung CII) or ``pdf`` (ZUGFeRD with that XML inside), as
    issued: the stored file, or else made now and stored (the PDF around the stored XML).
    The ledger's session must be one that writes (``session_scope(engine)``); the file is
    kept when its transaction commits.

    Raises :class:`~core.errors.ConfigurationError` when the merchant lacks seller details
    (only while the file is not stored yet).
    """
    if kind not in MIMETYPES:
        raise ValueError(f"unknown document kind {kind!r}")
    stored = _stored(ledger, invoice, kind)
    if stored is not None:
        return stored
    if kind == "xml":
        return _store(ledger, invoice, kind, document_xml(ledger, invoice))
    from core.einvoice.pdf import document_pdf  # fpdf2 and factur-x: only when asked

    xml = render(ledger, invoice, "xml")
    return _store(ledger, invoice, kind, document_pdf(ledger, invoice, xml))


def _stored(ledger: Ledger, invoice: Invoice, kind: str) -> bytes | None:
    return ledger.session.scalar(select(IssuedDocument.content).where(
        IssuedDocument.invoice_id == invoice.id, IssuedDocument.kind == kind))


def _store(ledger: Ledger, invoice: Invoice, kind: str, content: bytes) -> bytes:
    """Keep the file unless another transaction stored one first (two first downloads at
    once); either way the stored file, so both get the same bytes."""
    ledger.session.execute(insert(ledger.session, IssuedDocument).values(
        invoice_id=invoice.id, kind=kind, content=content,
        sha256=hashlib.sha256(content).hexdigest()).on_conflict_do_nothing(
        index_elements=[IssuedDocument.invoice_id, IssuedDocument.kind]))
    stored = _stored(ledger, invoice, kind)
    assert stored is not None  # ours, or the one that was first
    return stored


def document_file(ledger: Ledger, invoice: Invoice, kind: str) -> DocumentFile:
    """:func:`render` with the file's name and media type."""
    return DocumentFile(f"{safe_name(invoice.number)}.{kind}", MIMETYPES[kind],
                        render(ledger, invoice, kind))


def safe_name(number: str) -> str:
    """A document number as a file name (numbers are the merchant's prefix and digits; any
    other character becomes ``_``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in number).lstrip(".") or "_"


def buyer_format(ledger: Ledger, invoice: Invoice, order: Order | None = None) -> str:
    """The format the document's buyer gets (:func:`core.einvoice.formats.format_for`)."""
    order = order or ledger.session.get(Order, invoice.order_id)
    return format_for(ledger.merchant(invoice.merchant_id), order.snapshot if order else {})


def document_url(links: DocumentLinks, ledger: Ledger, order: Order) -> str | None:
    """The download link of the order's latest invoice in the buyer's format (its main
    file: the PDF for ``zugferd`` and ``both``, the XML for ``xrechnung``); ``None`` while
    the order has no invoice of the kit's own or the merchant lacks seller details."""
    if missing(ledger.merchant(order.connection.merchant_id).seller or {}):
        return None  # no document can be made until the merchant adds its details
    latest = ledger.session.scalars(
        select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == "invoice")
        .order_by(Invoice.id.desc()).limit(1)).first()
    if latest is None:
        return None
    kind = files_for(buyer_format(ledger, latest, order))[0]
    return links.url(latest.id, kind, latest.issued_on)


def describe(ledger: Ledger, order: Order) -> list[dict[str, Any]]:
    """The order's documents as rows: number, kind, date, gross, the buyer's format and
    its files."""
    rows = []
    for invoice in order_documents(ledger, order):
        fmt = buyer_format(ledger, invoice, order)
        rows.append({"number": invoice.number, "kind": invoice.kind.replace("_", " "),
                     "issued_on": invoice.issued_on.isoformat(),
                     "gross": str(to_decimal(invoice.gross, invoice.currency)),
                     "currency": invoice.currency, "format": fmt,
                     "files": [f"{safe_name(invoice.number)}.{kind}"
                               for kind in files_for(fmt)]})
    return rows
