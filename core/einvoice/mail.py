"""The invoice e-mail: each invoice and credit note the local provider issues goes to the
buyer's e-mail address with its e-invoice attached, in the format the buyer gets
(:func:`core.einvoice.formats.format_for`).

1. In the transaction that issues the document, the observer :mod:`core.einvoice.plugin`
   stores a ``pending`` :class:`~core.ledger.models.DocumentEmail` (one per document: the
   row's ``invoice_id`` is unique, so a retried operation stores no second one).
2. After the commit, :func:`send_due` renders and sends what is due, through the same
   path as the reminders (:class:`core.receivables.mail.Outbox`: SMTP when ``[mail]
   smtp_host`` is set, else ``<instance>/outbox/<number>.eml``), each row claimed first so
   that no two workers send it, and marked ``sent``. A failure waits for its backoff and
   ends ``dead`` after the last attempt (``invoicekit documents emails``, ``documents
   send --retry-dead``). The worker runs it every minute; ``invoicekit documents send`` now.

The message is plain text in the buyer's language (German or English): the number, the
amount, for an invoice the due date and the payment details, for a credit note the invoice
it credits. Its Message-ID is fixed per document, so a copy sent twice after a crash
(between the SMTP server's answer and the record) is recognised by mail clients.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from sqlalchemy import Engine, or_, select, update

from core.einvoice.documents import buyer_format, document_file
from core.einvoice.formats import files_for
from core.errors import InvoicekitError, PermanentError, RetryableError
from core.ledger.db import insert, session_scope
from core.ledger.models import DocumentEmail, Invoice, Order
from core.ledger.store import Ledger
from core.money import money_text
from core.operations import document_key
from core.receivables.mail import Outbox
from core.retry import DEFAULT_BACKOFF, Backoff

__all__ = ["Mailed", "queue_document_emails", "render_document_email", "retry_dead",
           "send_due"]

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)  # a claim older than this is a worker that died
MAX_DOCUMENTS = 64  # documents one operation can make (installments, credit note parts)


def queue_document_emails(ledger: Ledger, order_id: int, operation_key: str) -> int:
    """Store a pending e-mail for each document the operation ``operation_key`` issued on
    the order (none for a remote provider's order); return how many are new."""
    keys = [document_key(operation_key, n) for n in range(MAX_DOCUMENTS)]
    invoices = list(ledger.session.scalars(select(Invoice).where(
        Invoice.order_id == order_id, Invoice.idempotency_key.in_(keys))))
    if not invoices:
        return 0
    order = ledger.session.get(Order, order_id)
    buyer = (order.snapshot or {}).get("buyer") or {} if order else {}
    recipient = str(buyer.get("email") or "").strip()
    if "@" not in parseaddr(recipient)[1]:
        log.warning("order %s has no usable buyer e-mail: its documents are not mailed "
                    "(`invoicekit documents export` gives them)", order_id)
        return 0
    new = 0
    for invoice in invoices:  # RETURNING counts a row only where it was inserted
        new += len(ledger.session.execute(
            insert(ledger.session, DocumentEmail).values(
                invoice_id=invoice.id, order_id=order_id, recipient=recipient[:254],
                status="pending", attempts=0, created_at=_now())
            .on_conflict_do_nothing(index_elements=[DocumentEmail.invoice_id])
            .returning(DocumentEmail.id)).all())
    return new


_TEXTS = {
    "de": {"invoice": "Rechnung", "credit_note": "Gutschrift", "hello": "Guten Tag,",
           "attached": "anbei erhalten Sie {what} {number} vom {date} über {amount} als "
                       "E-Rechnung ({formats}).",
           "credits": "Sie schreibt die Rechnung {invoice} gut; bereits Gezahltes wird "
                      "erstattet oder verrechnet.",
           "pay": "Bitte überweisen Sie den Betrag bis zum {due}:",
           "holder": "Kontoinhaber", "reference": "Verwendungszweck",
           "regards": "Mit freundlichen Grüßen"},
    "en": {"invoice": "Invoice", "credit_note": "Credit note", "hello": "Hello,",
           "attached": "please find attached {what} {number} of {date} for {amount} as an "
                       "e-invoice ({formats}).",
           "credits": "It credits invoice {invoice}; anything already paid is refunded or "
                      "set off.",
           "pay": "Please transfer the amount by {due}:",
           "holder": "Account holder", "reference": "Payment reference",
           "regards": "Kind regards"},
}
_FORMAT_NAMES = {"pdf": "ZUGFeRD PDF", "xml": "XRechnung XML"}


def render_document_email(ledger: Ledger, invoice: Invoice, recipient: str,
                          sender: str) -> EmailMessage:
    """The e-mail of one document, with its e-invoice file(s) attached."""
    order = ledger.session.get(Order, invoice.order_id)
    merchant = ledger.merchant(invoice.merchant_id)
    buyer = ((order.snapshot if order else None) or {}).get("buyer") or {}
    language = "de" if (buyer.get("language") or merchant.language or "de") == "de" else "en"
    text = _TEXTS[language]
    kinds = files_for(buyer_format(ledger, invoice, order))
    files = [document_file(ledger, invoice, kind) for kind in kinds]
    what = text[invoice.kind] if invoice.kind in text else text["invoice"]
    amount = money_text(invoice.gross, invoice.currency)
    lines = [text["hello"], "", text["attached"].format(
        what=what if language == "de" else what.lower(), number=invoice.number,
        date=invoice.issued_on.isoformat(), amount=amount,
        formats=", ".join(_FORMAT_NAMES[k] for k in kinds)), ""]
    if invoice.kind == "credit_note":
        credited = ledger.session.get(Invoice, invoice.invoice_id) if invoice.invoice_id \
            else None
        if credited is not None:
            lines += [text["credits"].format(invoice=credited.number), ""]
    else:
        due = invoice.due_on.isoformat() if invoice.due_on else "-"
        reference = invoice.creditor_reference or invoice.payment_reference
        lines += [text["pay"].format(due=due),
                  f"{text['holder']}: {merchant.account_holder}", f"IBAN: {invoice.iban}"]
        if invoice.bic:
            lines.append(f"BIC: {invoice.bic}")
        lines += [f"{text['reference']}: {reference}", ""]
    lines += [text["regards"], merchant.name]

    message = EmailMessage()
    address = parseaddr(sender)[1]
    message["From"] = formataddr((merchant.name, address)) if address else sender
    message["To"] = formataddr(("", parseaddr(recipient)[1]))  # one address, no header tricks
    seller_email = (merchant.seller or {}).get("email")
    if seller_email:
        message["Reply-To"] = seller_email
    message["Subject"] = f"{what} {invoice.number} - {merchant.name}"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<einvoice-{invoice.merchant_id}-{invoice.id}@invoicekit>"
    message.set_content("\n".join(lines) + "\n", charset="utf-8", cte="quoted-printable")
    for file in files:
        main, sub = file.mimetype.split("/")
        message.add_attachment(file.data, maintype=main, subtype=sub, filename=file.filename)
    return message


@dataclass(frozen=True)
class Mailed:
    """What one call of :func:`send_due` did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0


def _due(engine: Engine, limit: int) -> list[int]:
    """Pending e-mails whose time has come, and claims a dead worker left behind."""
    now = _now()
    with session_scope(engine, write=False) as session:
        return list(session.scalars(
            select(DocumentEmail.id).where(or_(
                (DocumentEmail.status == "pending")
                & (DocumentEmail.next_attempt_at.is_(None)
                   | (DocumentEmail.next_attempt_at <= now)),
                (DocumentEmail.status == "sending") & (DocumentEmail.claimed_at <= now - LEASE)))
            .order_by(DocumentEmail.id).limit(limit)))


def _claim(engine: Engine, email_id: int, backoff: Backoff) -> bool:
    """Claim the e-mail for this worker; a claim left behind by a worker that died on its
    last attempt makes it dead instead (visible, and sent again by ``--retry-dead``)."""
    with session_scope(engine) as session:
        row = session.get(DocumentEmail, email_id)
        if row is None or row.status not in ("pending", "sending"):
            return False
        if row.status == "sending" and backoff.exhausted(row.attempts):
            row.status, row.claimed_at, row.next_attempt_at = "dead", None, None
            row.error = (row.error or "the sending worker stopped during the last attempt")
            log.warning("the e-mail of document %s is dead: its last attempt never ended",
                        row.invoice_id)
            return False
        return bool(session.execute(
            update(DocumentEmail).where(DocumentEmail.id == email_id,
                                        DocumentEmail.status == row.status,
                                        DocumentEmail.attempts == row.attempts)
            .values(status="sending", claimed_at=_now(), attempts=row.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount)


def send_due(engine: Engine, outbox: Outbox, backoff: Backoff = DEFAULT_BACKOFF, *,
             limit: int = 100) -> Mailed:
    """Send the document e-mails that are due (see the module docstring)."""
    counts = {"sent": 0, "failed": 0, "dead": 0}
    for email_id in _due(engine, limit):
        if not _claim(engine, email_id, backoff):
            continue  # another worker was quicker
        counts[_send(engine, outbox, backoff, email_id)] += 1
    return Mailed(**counts)


def _send(engine: Engine, outbox: Outbox, backoff: Backoff, email_id: int) -> str:
    error, permanent = None, False
    with session_scope(engine) as session:  # the first render stores the documents
        ledger = Ledger(session)
        row = session.get(DocumentEmail, email_id)
        assert row is not None
        invoice = session.get(Invoice, row.invoice_id)
        assert invoice is not None
        number = invoice.number
        try:
            message = render_document_email(ledger, invoice, row.recipient,
                                            outbox.settings.sender)
        except InvoicekitError as exc:
            message, error = None, f"the document cannot be made: {exc}"
        except Exception as exc:  # a library's failure: retried, and dead in the end
            log.exception("the e-mail of document %s could not be made", number)
            message, error = None, f"the document cannot be made: {type(exc).__name__}"
    where = None
    if message is not None:
        try:
            where = outbox.send_email(message, f"einvoice-{number}")
        except PermanentError as exc:
            error, permanent = str(exc), True
        except RetryableError as exc:
            error = str(exc)
        except Exception as exc:  # e.g. the outbox folder cannot be written
            log.exception("the e-mail of document %s could not be sent", number)
            error = f"{type(exc).__name__}: {exc}"
    with session_scope(engine) as session:
        row = session.get(DocumentEmail, email_id)
        assert row is not None
        row.claimed_at = None
        if error is None:
            row.status, row.sent_to, row.sent_at, row.error = "sent", where, _now(), None
            row.next_attempt_at = None
            return "sent"
        row.error = error[:1000]
        if permanent or backoff.exhausted(row.attempts):
            row.status, row.next_attempt_at = "dead", None
            log.warning("the e-mail of document %s is dead: %s", number, error)
            return "dead"
        row.status = "pending"
        row.next_attempt_at = _now() + timedelta(seconds=backoff.delay(row.attempts))
        return "failed"


def retry_dead(engine: Engine) -> int:
    """Make the dead document e-mails pending again; return how many."""
    with session_scope(engine) as session:
        return session.execute(
            update(DocumentEmail).where(DocumentEmail.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=None)
            .execution_options(synchronize_session=False)).rowcount or 0


def _now() -> datetime:
    return datetime.now(UTC)
