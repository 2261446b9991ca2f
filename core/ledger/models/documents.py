"""The e-invoices as issued (one file per document and kind) and the e-mails the kit sends
its buyers (one record per invoice or credit note)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.ledger.models.base import Base, utcnow

__all__ = ["DocumentEmail", "IssuedDocument"]


class DocumentEmail(Base):
    """The e-mail that brings a document (invoice or credit note) to the buyer.

    Stored in the transaction that issues the document, sent after it committed
    (:mod:`core.einvoice.mail`): ``pending`` → ``sending`` (``claimed_at``) → ``sent``
    (``sent_at``, ``sent_to``: the ``.eml`` file or ``smtp:<host>``), or back to ``pending``
    with ``error`` and ``next_attempt_at``, in the end ``dead``. One row per document
    (``invoice_id`` is unique), so a document is mailed once however often it is retried.
    """

    __tablename__ = "document_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(Integer, ForeignKey("invoices.id"), unique=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    sent_to: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class IssuedDocument(Base):
    """A document's e-invoice file as it was first made: the XRechnung XML (``kind``
    ``xml``) or the ZUGFeRD PDF (``pdf``, with that XML inside). Every download, export and
    e-mail after the first serves these bytes (:func:`core.einvoice.documents.render`), so
    an issued invoice stays as it was when the merchant's details, the shop's buyer data or
    the order lines change later (GoBD, § 14 UStG). Never updated, never deleted;
    ``sha256`` is the content's hex digest."""

    __tablename__ = "issued_documents"
    __table_args__ = (UniqueConstraint("invoice_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(Integer, ForeignKey("invoices.id"))
    kind: Mapped[str] = mapped_column(String(8))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
