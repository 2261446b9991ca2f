"""The ``invoicekit documents`` commands for e-invoices: ``show`` lists an order's invoices
and credit notes with the format the buyer gets, ``export`` writes their XRechnung XML and
ZUGFeRD PDF, ``validate`` checks a CII XML file (or a ZUGFeRD / Factur-X PDF) against the
schema, the EN 16931 rules and the XRechnung rules."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
from sqlalchemy import select

from core.clitools import fail, kit_or_fail
from core.einvoice.documents import (
    DocumentFile,
    buyer_format,
    describe,
    document_file,
    find_document,
    order_documents,
)
from core.einvoice.formats import files_for
from core.einvoice.validation import RuleFilesMissing, validate_file
from core.errors import InvoicekitError
from core.ledger.db import session_scope
from core.ledger.models import DocumentEmail, Invoice
from core.ledger.store import Ledger
from core.receivables.mail import MailSettings, Outbox, write_atomic

__all__ = ["documents"]


@click.group()
def documents() -> None:
    """E-invoices (XRechnung XML, ZUGFeRD / Factur-X PDF) of the invoices and credit notes."""


@documents.command("show")
@click.argument("shop")
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def documents_show(shop: str, order_id: str, as_json: bool) -> None:
    """List the invoices and credit notes of the shop's order ORDER_ID (as in ``orders
    show``) with number, kind, date, gross and the e-invoice the buyer gets."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine, write=False) as session:
            ledger = Ledger(session)
            order = ledger.find_order(shop, order_id)
            rows, number = describe(ledger, order), order.order_number
    except InvoicekitError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"order {number} ({shop}/{order_id}): {len(rows)} document(s)")
    for row in rows:
        click.echo(f"  {row['number']}  {row['kind']}  {row['issued_on']}  {row['gross']} "
                   f"{row['currency']}  {row['format']} ({', '.join(row['files'])})")


@documents.command("export")
@click.argument("shop")
@click.argument("order_id")
@click.option("--number", help="Only this invoice or credit note [default: all of them].")
@click.option("--format", "kind", type=click.Choice(["xml", "pdf", "both"]),
              help="XRechnung XML, ZUGFeRD PDF or both [default: what the buyer gets].")
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="The folder to write to.")
def documents_export(shop: str, order_id: str, number: str | None, kind: str | None,
                     folder: Path) -> None:
    """Write the e-invoices of the shop's order ORDER_ID as <number>.xml / <number>.pdf."""
    kit = kit_or_fail()
    files: list[DocumentFile] = []
    try:
        # A writing session: a document's first export stores it. The files are written
        # once that is committed, so none goes out that the ledger does not keep.
        with session_scope(kit.engine) as session:
            ledger = Ledger(session)
            order = ledger.find_order(shop, order_id)
            chosen = [find_document(ledger, order, number)] if number \
                else order_documents(ledger, order)
            if not chosen:
                raise click.ClickException(f"order {order.order_number} has no invoice or "
                                           "credit note yet")
            for invoice in chosen:
                kinds = ("pdf", "xml") if kind == "both" else (kind,) if kind \
                    else files_for(buyer_format(ledger, invoice, order))
                files += [document_file(ledger, invoice, one) for one in kinds]
    except InvoicekitError as exc:
        fail(exc)
    except NotImplementedError as exc:
        raise click.ClickException(f"the ZUGFeRD PDF cannot be made yet: {exc}") from None
    for file in files:
        path = folder / file.filename
        write_atomic(path, file.data)
        click.echo(f"wrote {path}")


@documents.command("send")
@click.option("--retry-dead", is_flag=True, help="Make the dead e-mails pending again first.")
def documents_send(retry_dead: bool) -> None:
    """Send the invoice e-mails that are due now (the worker does this every minute): each
    invoice and credit note to its buyer, with its e-invoice attached."""
    from core.einvoice.mail import retry_dead as make_pending
    from core.einvoice.mail import send_due

    kit = kit_or_fail()
    if retry_dead:
        click.echo(f"{make_pending(kit.engine)} dead e-mail(s) made pending")
    mailed = send_due(kit.engine, Outbox(kit.settings.home,
                                         MailSettings.from_mapping(kit.settings.mail)),
                      kit.backoff)
    click.echo(f"sent {mailed.sent}, to be retried {mailed.failed}, dead {mailed.dead}")


@documents.command("emails")
@click.option("--limit", default=50, show_default=True)
def documents_emails(limit: int) -> None:
    """List the invoice e-mails, newest first: document, buyer, status and where it went."""
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        rows = session.execute(select(DocumentEmail, Invoice).join(
            Invoice, DocumentEmail.invoice_id == Invoice.id)
            .order_by(DocumentEmail.id.desc()).limit(limit)).all()
        for email, invoice in rows:
            detail = email.sent_to if email.status == "sent" else (email.error or "")
            click.echo(f"{invoice.number}  {email.recipient}  {email.status} (attempts "
                       f"{email.attempts}){' - ' + detail if detail else ''}")


@documents.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-xrechnung", is_flag=True,
              help="Check the schema and the EN 16931 rules only, not the XRechnung CIUS.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Leave warnings out of the text report.")
def validate(file: Path, no_xrechnung: bool, as_json: bool, quiet: bool) -> None:
    """Check FILE (CII XML, or a PDF with the XML embedded) against the official rules;
    exits 1 when a rule fails fatally."""
    try:
        report = validate_file(file, xrechnung=not no_xrechnung)
    except RuleFilesMissing as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"file": str(file), "ok": report.ok, "checked": report.checked,
                               "findings": [asdict(f) for f in report.findings]}, indent=2,
                              ensure_ascii=False))
    else:
        click.echo(f"{file}: {report.text(warnings=not quiet)}")
    if not report.ok:
        raise SystemExit(1)
