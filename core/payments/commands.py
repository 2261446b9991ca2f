"""The ``invoicekit payments`` commands: statement import, matching by hand, buyer credits,
payments booked by hand, and the payment block of an order."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from sqlalchemy import select

from core.clitools import fail, kit_or_fail, money, parse_day
from core.errors import InvoicekitError
from core.ledger.db import session_scope
from core.ledger.models import BankTransactionRecord, Buyer, Order, Receivable
from core.ledger.store import Ledger
from core.money import to_minor
from core.payments.block import payment_blocks, qr_png, qr_svg, to_json, to_text
from core.payments.booking import assign, buyer_currency, import_file, refund_credit
from core.receivables.book import record_payment

__all__ = ["payments"]


def _amount(text: str, currency: str, hint: str = "AMOUNT") -> int:
    try:
        minor = to_minor(Decimal(text), currency)
    except (InvalidOperation, ValueError):
        minor = 0
    if minor <= 0:
        raise click.BadParameter(f"{text!r} is not a positive amount in {currency}",
                                 param_hint=hint)
    return minor


@click.group()
def payments() -> None:
    """Payments of the buyers: bank statements, matching, credits."""


@payments.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
def payments_import(files: tuple[Path, ...]) -> None:
    """Import bank statement files (camt.053, MT940) and book the payments they hold.

    Each file is checked whole before anything of it is booked; importing a file again
    books nothing twice."""
    kit = kit_or_fail()
    failed = False
    for path in files:
        try:
            with click.progressbar(length=0, label=path.name, show_pos=True) as bar:
                def counted(total: int, bar: click.progressbar = bar) -> None:
                    bar.length = total
                summary = import_file(kit.engine, path, counted=counted, progress=bar.update)
        except InvoicekitError as exc:
            click.echo(f"{path.name}: refused, nothing booked: {exc}", err=True)
            failed = True
            continue
        click.echo(str(summary))
        for currency in sorted(summary.paid | summary.to_credit):
            click.echo(f"  {money(summary.paid[currency], currency)} paid to invoices, "
                       f"{money(summary.to_credit[currency], currency)} to buyer credits")
    if failed:
        raise SystemExit(1)


def _transaction_line(t: BankTransactionRecord, proposal: str = "") -> str:
    text = " ".join(t.remittance.split()) or t.creditor_reference or ""
    return (f"{t.id:>6}  {t.booked_on}  {money(t.amount, t.currency):>14}  "
            f"{t.status:<9}  {t.debtor_name or '?'}  {text[:60]}{proposal}")


@payments.command("unmatched")
@click.option("--all", "show_all", is_flag=True, help="Also list debits that were ignored.")
def payments_unmatched(show_all: bool) -> None:
    """List the transfers not booked yet: proposed matches to confirm and unmatched ones."""
    kit = kit_or_fail()
    states = ("proposed", "unmatched", "ignored") if show_all else ("proposed", "unmatched")
    with session_scope(kit.engine, write=False) as session:
        rows = session.scalars(select(BankTransactionRecord).where(
            BankTransactionRecord.status.in_(states)).order_by(BankTransactionRecord.id))
        found = False
        for t in rows:
            found = True
            proposal = ""
            if t.proposed_order_id is not None:
                order = session.get(Order, t.proposed_order_id)
                proposal = (f"  -> proposed: order {order.shop_order_id} of shop "
                            f"{order.connection.name} (confirm: invoicekit payments assign "
                            f"{t.id})")
            click.echo(_transaction_line(t, proposal))
        if not found:
            click.echo("nothing to match")


@payments.command("assign")
@click.argument("transaction_id", type=int)
@click.argument("shop", required=False)
@click.argument("order_id", required=False)
def payments_assign(transaction_id: int, shop: str | None, order_id: str | None) -> None:
    """Book a transfer for an order: its proposal (no SHOP ORDER_ID), or the order named.

    The order's open invoices take it first, then the buyer's other open invoices, oldest
    first; what is left becomes the buyer's credit."""
    if (shop is None) != (order_id is None):
        raise click.UsageError("name both SHOP and ORDER_ID, or neither to confirm the "
                               "proposal")
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            ledger = Ledger(session)
            order = ledger.find_order(shop, order_id) if shop else None
            paid = assign(ledger, transaction_id, order)
            record = session.get(BankTransactionRecord, transaction_id)
            click.echo(f"transaction {transaction_id}: {money(paid, record.currency)} paid"
                       + (f", {money(record.to_credit, record.currency)} to the buyer's "
                          "credit" if record.to_credit else ""))
    except InvoicekitError as exc:
        fail(exc)


@payments.command("credits")
def payments_credits() -> None:
    """List the buyers with a credit (paid beyond their invoices)."""
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        buyers = session.scalars(select(Buyer).where(Buyer.credit != 0).order_by(Buyer.id))
        found = False
        for buyer in buyers:
            found = True
            currency = buyer_currency(Ledger(session), buyer.id)
            click.echo(f"buyer {buyer.id}  {buyer.company} (merchant {buyer.merchant_id}, "
                       f"{buyer.virtual_iban}): credit {money(buyer.credit, currency)}")
        if not found:
            click.echo("no buyer has a credit")


@payments.command("refund")
@click.argument("buyer_id", type=int)
@click.argument("amount", required=False)
def payments_refund(buyer_id: int, amount: str | None) -> None:
    """Record that a buyer's credit (all of it, or AMOUNT) is paid back."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            ledger = Ledger(session)
            currency = buyer_currency(ledger, buyer_id)
            minor = None if amount is None else _amount(amount, currency)
            paid, iban = refund_credit(ledger, buyer_id, minor, key=f"refund:{uuid.uuid4()}")
            click.echo(f"buyer {buyer_id}: {money(paid, currency)} to pay back"
                       + (f" to {iban}" if iban else ""))
    except InvoicekitError as exc:
        fail(exc)


@payments.command("record")
@click.argument("shop")
@click.argument("order_id")
@click.argument("amount")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="Booking day [default: today].")
@click.option("--reference", help="The remittance text, e.g. BP1001/7.")
@click.option("--id", "transaction_id", help="The bank's id of the transaction: booking it "
              "again changes nothing [default: every call books a new payment].")
@click.option("--direct", is_flag=True, help="The buyer paid the merchant directly: the "
              "weekly statement deducts it from the payout.")
def payments_record(shop: str, order_id: str, amount: str, day: str | None,
                    reference: str | None, transaction_id: str | None, direct: bool) -> None:
    """Book a payment received for an order; the invoice due first takes it first."""
    kit = kit_or_fail()
    booked = parse_day(day)
    try:
        with session_scope(kit.engine) as session:
            ledger = Ledger(session)
            order = ledger.find_order(shop, order_id)
            minor = _amount(amount, order.currency)
            key = f"bank:{transaction_id}" if transaction_id else f"manual:{uuid.uuid4()}"
            allocations = record_payment(ledger, order, minor, booked_on=booked,
                                         reference=reference,
                                         source="direct" if direct else "manual", key=key)
            for allocation in allocations:
                receivable = session.get(Receivable, allocation.receivable_id)
                click.echo(f"{money(allocation.amount, order.currency)} to invoice "
                           f"{receivable.invoice.number}: open "
                           f"{money(receivable.open_amount, order.currency)}, "
                           f"{receivable.status}")
    except InvoicekitError as exc:
        fail(exc)


@payments.command("block")
@click.argument("shop")
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable, with the EPC payload.")
@click.option("--language", default="en", show_default=True)
@click.option("--qr", "qr_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the GiroCode of the first open invoice here (.png or .svg).")
def payments_block(shop: str, order_id: str, as_json: bool, language: str,
                   qr_path: Path | None) -> None:
    """Show the payment block of an order's invoices: holder, IBAN, BIC, reference, due
    date, open amount, and the EPC QR code (GiroCode) to print on the invoice."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine, write=False) as session:
            ledger = Ledger(session)
            blocks = payment_blocks(ledger, ledger.find_order(shop, order_id))
    except InvoicekitError as exc:
        fail(exc)
    if not blocks:
        fail(InvoicekitError(f"order {order_id} has no invoice of the local provider yet"))
    if as_json:
        click.echo(json.dumps([to_json(block) for block in blocks], indent=2))
    else:
        click.echo("\n\n".join(to_text(block, language) for block in blocks))
    if qr_path is not None:
        block = next((b for b in blocks if b.qr_available), None)
        if block is None:
            fail(InvoicekitError(f"no QR code: {blocks[0].qr_problem}"))
        if qr_path.suffix.lower() == ".svg":
            qr_path.write_text(qr_svg(block), encoding="utf-8")
        else:
            qr_path.write_bytes(qr_png(block, scale=6))
        click.echo(f"QR code of invoice {block.invoice_number} written to {qr_path}")
