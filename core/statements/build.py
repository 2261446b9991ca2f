"""The weekly statement of a merchant: every movement of the local provider's orders in one
ISO week (Monday to Sunday, UTC), as CSV and as PDF, with totals per line type and the
payout balance. Rows are read from the journal in chunks and written as they come, so
memory stays flat however many movements the week has. A cell a spreadsheet would run as a
formula (a buyer named ``=HYPERLINK(…)``) is written as text (:mod:`core.spreadsheet`)."""

from __future__ import annotations

import csv
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, Select, case, select
from sqlalchemy.orm import Session, aliased

from core.errors import ConfigurationError
from core.ledger.db import session_scope
from core.ledger.models import Buyer, Invoice, Merchant, Movement, Order
from core.money import exponent
from core.spreadsheet import _FORMULA_START as FORMULA_START
from core.spreadsheet import safe_cell
from core.spreadsheet import writer as csv_writer
from core.statements.journal import BATCH, as_text, journal_parts
from core.statements.pdf import StreamingPdf

__all__ = ["COLUMNS", "LINE_TYPES", "Statement", "StatementRow", "Totals", "build_last_week",
           "build_statement", "parse_week", "statement_rows", "week_of"]

log = logging.getLogger(__name__)

LOCAL = "local"

# movement kind -> (line type, sign of the shown amount, sign of the effect on the payout).
# Amounts in the journal are seen from the buyer (an invoice adds to what is owed); the
# statement shows them as the merchant reads them. The provider pays the merchant what it
# invoices, takes back credit notes, fees and what the buyer paid the merchant directly;
# what buyers pay the provider does not change the payout. The charges of default (flat
# fee, interest) are the provider's: claimed, received, returned and waived, they are
# shown and leave the payout as it is.
LINE_TYPES: dict[str, tuple[str, int, int]] = {
    "authorisation": ("authorisation", 1, 0),
    "declined": ("declined", 1, 0),
    "invoice": ("activation", 1, 1),
    "credit_note": ("credit_note", 1, 1),
    "void": ("cancellation", 1, 0),
    "authorisation_reduced": ("cancellation", 1, 0),
    "payment": ("payment", -1, 0),
    "payment_reversal": ("payment_reversal", -1, 0),
    "direct_payment": ("direct_customer_payment", -1, 1),
    "buyer_credit": ("buyer_credit", -1, 0),
    "credit_refund": ("credit_refund", -1, 0),
    "fee": ("fee", 1, -1),
    "fee_vat": ("fee_vat", 1, -1),
    "dunning_fee": ("dunning_fee", 1, 0),
    "default_interest": ("default_interest", 1, 0),
    "charge_payment": ("charges_received", -1, 0),
    "charge_payment_reversal": ("charges_returned", -1, 0),
    "charge_waiver": ("charges_waived", 1, 0),
    "handover": ("handover", 1, 0),
}
OTHER = ("other", 1, 0)

COLUMNS = ("period_start", "period_end", "line_type", "booked_at", "merchant_order_ref",
           "buyer_company", "provider_customer_id", "document_number", "order_date",
           "activation_date", "due_date", "buyer_country", "gross_amount", "fee_pct",
           "fee_amount", "vat_on_fee", "net_amount", "currency", "description")


FIRST_YEAR = 2000  # the journal holds nothing older
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def parse_week(week: str, *, latest: date | None = None) -> tuple[date, date]:
    """``2026-W47`` as its Monday and Sunday: a real ISO week from 2000 on and, with
    ``latest``, not after the week of that day (a week to come has no statement)."""
    found = _WEEK.fullmatch(week.upper())
    try:
        if found is None or int(found[1]) < FIRST_YEAR:
            raise ValueError(week)
        monday = date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        raise ConfigurationError(f"{week!r} is not an ISO week such as 2026-W47, "
                                 f"from {FIRST_YEAR} on") from None
    if latest is not None and monday > latest:
        raise ConfigurationError(f"{week!r} has not begun: it has no statement yet")
    return monday, monday + timedelta(days=6)


def week_of(day: date) -> str:
    """The ISO week ``day`` is in, e.g. ``2026-W47``."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


@dataclass(frozen=True, slots=True)
class StatementRow:
    """One movement as the statement shows it; amounts in minor units."""

    line_type: str
    booked_at: datetime
    order_ref: str
    buyer_company: str | None
    buyer_id: int | None
    document_number: str | None
    order_date: date
    activation_date: date | None
    due_date: date | None
    buyer_country: str | None
    gross: int | None
    fee: int | None
    vat_on_fee: int | None
    net: int
    currency: str
    description: str


@dataclass
class Totals:
    """Sums per line type and currency: count, gross, fee, VAT on fees, payout effect."""

    by_type: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, row: StatementRow) -> None:
        sums = self.by_type.setdefault((row.line_type, row.currency), [0, 0, 0, 0, 0])
        for n, value in enumerate((1, row.gross or 0, row.fee or 0, row.vat_on_fee or 0,
                                   row.net)):
            sums[n] += value

    def payout(self, currency: str) -> int:
        """What the week changes in what the provider owes the merchant."""
        return sum(s[4] for (_, cur), s in self.by_type.items() if cur == currency)

    @property
    def currencies(self) -> list[str]:
        return sorted({currency for _, currency in self.by_type})


def _row(values: tuple, merchant: Merchant) -> StatementRow:
    (kind, amount, currency, occurred_at, description, order_number, ordered_at, buyer_id,
     company, country, number, doc_kind, doc_issued, doc_due, orig_issued, orig_due) = values
    line_type, shown, payout = LINE_TYPES.get(kind, OTHER)
    fee = amount if kind == "fee" else None
    vat = amount if kind == "fee_vat" else None
    invoice = doc_kind == "invoice"
    return StatementRow(
        line_type=line_type, booked_at=occurred_at, order_ref=order_number,
        buyer_company=company, buyer_id=buyer_id, document_number=number,
        order_date=ordered_at.date(),
        activation_date=doc_issued if invoice else orig_issued,
        due_date=doc_due if invoice else orig_due, buyer_country=country,
        gross=None if fee is not None or vat is not None else shown * amount,
        fee=fee, vat_on_fee=vat, net=payout * amount, currency=currency,
        description=description)


def statement_rows(session: Session, merchant: Merchant, monday: date,
                   ) -> Iterator[StatementRow]:
    """The week's movements of the merchant's local-provider orders, oldest first, read in
    batches."""
    for values in session.execute(_rows_query(merchant, monday)):
        yield _row(tuple(values), merchant)


def _rows_query(merchant: Merchant, monday: date, text: str | None = None) -> Select[Any]:
    """The week's movements with their order, buyer and documents, oldest first, streamed
    (``yield_per``; a server-side cursor on PostgreSQL). With ``text``, the name of the
    database's dialect (for :func:`_write_rows`), the database writes the times and days
    as the statement shows them (see :func:`core.statements.journal.as_text`) and picks
    the document's activation and due day. (``build_statement`` reads the same rows
    through :func:`core.statements.journal.journal_parts`.)"""
    start = datetime.combine(monday, time(), UTC)
    doc, orig = aliased(Invoice), aliased(Invoice)
    if text:
        invoice, postgresql = doc.kind == "invoice", text == "postgresql"
        columns: list[Any] = [
            Movement.kind, Movement.amount, Movement.currency,
            as_text(Movement.occurred_at, True, postgresql), Movement.description,
            Order.order_number, as_text(Order.created_at, False, postgresql), Buyer.id,
            Buyer.company, Buyer.country, Movement.document_number,
            as_text(case((invoice, doc.issued_on), else_=orig.issued_on), False, postgresql),
            as_text(case((invoice, doc.due_on), else_=orig.due_on), False, postgresql)]
    else:
        columns = [Movement.kind, Movement.amount, Movement.currency, Movement.occurred_at,
                   Movement.description, Order.order_number, Order.created_at, Buyer.id,
                   Buyer.company, Buyer.country, Movement.document_number, doc.kind,
                   doc.issued_on, doc.due_on, orig.issued_on, orig.due_on]
    return (
        select(*columns)
        .join(Order, Order.id == Movement.order_id)
        .outerjoin(Buyer, Buyer.id == Order.buyer_id)
        .outerjoin(doc, (doc.merchant_id == Movement.merchant_id)
                   & (doc.number == Movement.document_number))
        .outerjoin(orig, orig.id == doc.invoice_id)
        .where(Movement.merchant_id == merchant.id, Movement.occurred_at >= start,
               Movement.occurred_at < start + timedelta(days=7), Order.provider == LOCAL)
        .order_by(Movement.occurred_at, Movement.id)
        .execution_options(yield_per=BATCH, stream_results=True))


@dataclass(frozen=True)
class Statement:
    """A statement built: its files and totals."""

    merchant_id: int
    week: str
    csv_path: Path
    pdf_path: Path
    rows: int
    totals: Totals


_PLACES: dict[str, int] = {}  # currency -> decimals of its minor unit, as looked up once


def _money(minor: int | None, currency: str) -> str:
    """``minor`` units as ``str(to_decimal(minor, currency))`` writes them (``-0.05``,
    ``1234.50``, ``100`` for JPY), by integer arithmetic; ``""`` for ``None``."""
    if minor is None:
        return ""
    places = _PLACES.get(currency)
    if places is None:
        places = _PLACES[currency] = exponent(currency)
    if places == 2:  # most currencies: a format without a nested width
        if minor < 0:
            whole, part = divmod(-minor, 100)
            return f"-{whole}.{part:02d}"
        whole, part = divmod(minor, 100)
        return f"{whole}.{part:02d}"
    if not places:
        return str(minor)
    whole, part = divmod(-minor if minor < 0 else minor, 10 ** places)
    return f"{'-' if minor < 0 else ''}{whole}.{part:0{places}d}"


def _csv_values(row: StatementRow, week: tuple[date, date], fee_pct: Decimal) -> list[str]:
    return [week[0].isoformat(), week[1].isoformat(), row.line_type,
            row.booked_at.isoformat(timespec="seconds"), row.order_ref,
            row.buyer_company or "", "" if row.buyer_id is None else str(row.buyer_id),
            row.document_number or "", row.order_date.isoformat(),
            row.activation_date.isoformat() if row.activation_date else "",
            row.due_date.isoformat() if row.due_date else "", row.buyer_country or "",
            _money(row.gross, row.currency), str(fee_pct) if row.line_type == "fee" else "",
            _money(row.fee, row.currency), _money(row.vat_on_fee, row.currency),
            _money(row.net, row.currency), row.currency, row.description]


_PDF_WIDTHS = (("date", 10), ("type", 23), ("order", 14), ("document", 12), ("buyer", 26),
               ("due", 10), ("amount", 13), ("fee", 10), ("payout", 13), ("cur", 3))


_WIDTHS = tuple(width for _, width in _PDF_WIDTHS)
# each cell cut to its width (ending in "~"), numbers right-aligned, the rest left-aligned
_PDF_FORMAT = " ".join(f"{{:{'>' if name in ('amount', 'fee', 'payout') else '<'}{width}}}"
                       for name, width in _PDF_WIDTHS)


def _pdf_line(values: list[str]) -> str:
    return _PDF_FORMAT.format(*[value if len(value) <= width else value[:width - 1] + "~"
                                for value, width in zip(values, _WIDTHS, strict=True)])


def _pdf_values(row: StatementRow) -> list[str]:
    fee = (row.fee or 0) + (row.vat_on_fee or 0) if row.line_type.startswith("fee") else None
    return [row.booked_at.date().isoformat(), row.line_type, row.order_ref,
            row.document_number or "", row.buyer_company or "",
            row.due_date.isoformat() if row.due_date else "", _money(row.gross, row.currency),
            _money(fee, row.currency), _money(row.net, row.currency), row.currency]


def _totals_csv(totals: Totals, week: tuple[date, date]) -> Iterator[list[object]]:
    for (line_type, currency), (count, gross, fee, vat, net) in sorted(totals.by_type.items()):
        yield [week[0], week[1], f"total:{line_type}", "", "", "", "", "", "", "", "", "",
               _money(gross, currency), "", _money(fee, currency), _money(vat, currency),
               _money(net, currency), currency, f"{count} movements"]
    for currency in totals.currencies:
        yield [week[0], week[1], "total:payout", *[""] * 13,
               _money(totals.payout(currency), currency), currency,
               "what the week changes in the payout to the merchant"]


def _write_totals_pdf(pdf: StreamingPdf, totals: Totals) -> None:
    pdf.blank()
    pdf.heading("Totals")
    pdf.line(f"{'line type':<26}{'count':>8} {'amount':>16} {'fees':>14} {'payout':>16}  cur",
             bold=True)
    for (line_type, currency), (count, gross, fee, vat, net) in sorted(totals.by_type.items()):
        pdf.line(f"{line_type:<26}{count:>8} {_money(gross, currency):>16} "
                 f"{_money(fee + vat, currency):>14} {_money(net, currency):>16}  {currency}")
    for currency in totals.currencies:
        pdf.line(f"{'payout for the week':<26}{'':>8} {'':>16} {'':>14} "
                 f"{_money(totals.payout(currency), currency):>16}  {currency}", bold=True)


def build_statement(engine: Engine, merchant_id: int, week: str, folder: Path) -> Statement:
    """Write ``<folder>/<merchant>/statement-<merchant>-<week>.csv`` and ``.pdf``. Each file
    is written aside under a name of its own and then renamed over the old one, so builds
    may run at the same time and a reader only ever opens a whole file."""
    monday, sunday = parse_week(week)
    week = week_of(monday)  # one spelling, one file name
    totals, count = Totals(), 0
    with session_scope(engine, write=False) as session:
        if engine.dialect.name == "postgresql":  # the week's reads see one moment
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        merchant = session.get(Merchant, merchant_id)
        if merchant is None:
            raise ConfigurationError(f"no merchant {merchant_id}")
        target = folder / str(merchant_id)
        target.mkdir(parents=True, exist_ok=True)
        stem = f"statement-{merchant_id}-{week}"
        csv_path, pdf_path = target / f"{stem}.csv", target / f"{stem}.pdf"
        title = f"{merchant.name}: statement {week} ({monday} to {sunday})"
        with _aside(csv_path, "w") as (csv_tmp, text), \
                _aside(pdf_path, "wb") as (pdf_tmp, binary), \
                StreamingPdf(binary, title=title,
                             header=[_pdf_line([n for n, _ in _PDF_WIDTHS])]) as pdf:
            writer = csv_writer(text)
            writer.writerow(COLUMNS)
            pdf.heading(title)
            parts = journal_parts(session, merchant, monday)
            count = _write_parts(parts, text, pdf,
                                totals, (monday.isoformat(), sunday.isoformat()),
                                str(safe_cell(str(merchant.fee_percent))))
            if not count:
                pdf.line("No movements this week.")
            writer.writerows(_totals_csv(totals, (monday, sunday)))
            _write_totals_pdf(pdf, totals)
    os.replace(csv_tmp, csv_path)
    os.replace(pdf_tmp, pdf_path)
    return Statement(merchant_id, week, csv_path, pdf_path, count, totals)


# A CSV line the writer writes as the cells joined by commas: as many commas as cells
# between them (none in a cell), no quote, line break or NUL (the writer quotes those).
_COMMAS = len(COLUMNS) - 1
_LINES = 1000  # such lines written at a time
_AMOUNTS = 50_000  # amounts' texts kept per currency, at most
_QUOTED = re.compile('["\r\n\0]')


def _cut(value: str, width: int) -> str:
    """``value`` as :func:`_pdf_line` cuts it to ``width``."""
    return value if len(value) <= width else value[:width - 1] + "~"


def _write_rows(rows: Iterable[Any], text: IO[str], pdf: StreamingPdf, totals: Totals,
                week: tuple[str, str], fee_pct: str) -> int:
    """Write the week's movements, raw rows of :func:`_rows_query` with ``text`` (times and
    days as text already), as :func:`_write_parts` writes them."""
    return _write_parts((((*row[:5], None, None), row[5:]) for row in rows), text, pdf,
                        totals, week, fee_pct)


def _write_parts(parts: Iterable[tuple[Any, tuple[Any, ...]]], text: IO[str],
                 pdf: StreamingPdf, totals: Totals, week: tuple[str, str],
                 fee_pct: str) -> int:
    """Write the week's movements to the CSV and the PDF and add them to ``totals``: the
    same cells as :func:`_csv_values` and :func:`_pdf_values` of :func:`_row`, without a
    ``StatementRow`` or a ``Decimal`` per row. Each part is a movement's own columns (kind,
    amount, currency, time, description, then any two) and what follows them in the
    rows of :func:`_rows_query` (its order's and document's columns, as
    :func:`core.statements.journal.journal_parts` gives them). The cells that come from
    the ledger's text go through :func:`safe_cell`; the others are dates and numbers it
    leaves as they are (it changes only text starting with one of ``FORMULA_START``, so
    only such text is passed). What depends only on the movement's kind and currency, or
    only on its order and document, is worked out once (a few kept). Returns the number
    of rows."""
    writer = csv.writer(text)
    by_type, count = totals.by_type, 0
    lines: list[str] = []  # CSV lines not yet written,
    cells_of: list[tuple[Any, ...]] = []  # what their cells are made of,
    pdf_lines: list[str] = []  # and the PDF's
    monday, sunday, formula = *week, FORMULA_START  # safe_cell changes only those
    kinds: dict[tuple[str, str], tuple[Any, ...]] = {}
    texts: dict[str, dict[int, str]] = {}  # currency -> amount -> _money's text, a few
    middles: dict[tuple[Any, ...], tuple[str, str]] = {}
    money, pdf_format = _money, _PDF_ROW.format
    for (kind, amount, currency, booked, description, _, _), tail in parts:
        shape = kinds.get((kind, currency))
        if shape is None:
            line_type, shown, payout = LINE_TYPES.get(kind, OTHER)
            shape = kinds[(kind, currency)] = (
                line_type, shown, payout, _cut(line_type, 23),
                fee_pct if line_type == "fee" else "", safe_cell(currency), _cut(currency, 3),
                by_type.setdefault((line_type, currency), [0, 0, 0, 0, 0]),
                2 if kind == "fee" else 3 if kind == "fee_vat" else 0,
                texts.setdefault(currency, {}))
        (line_type, shown, payout, type_cell, pct, currency_cell, pdf_currency, sums,
         fee_slot, amounts) = shape
        if len(amounts) > _AMOUNTS:  # the same amounts come again and again: a few kept
            amounts.clear()
        middle = middles.get(tail)
        if middle is None:
            if len(middles) > _AMOUNTS:
                middles.clear()
            middle = middles[tail] = _middle(tail)
        csv_middle, pdf_middle = middle
        net = payout * amount
        net_text = amounts.get(net)
        if net_text is None:
            net_text = amounts[net] = money(net, currency)
        if fee_slot:
            fee_text = amounts.get(amount)
            if fee_text is None:
                fee_text = amounts[amount] = money(amount, currency)
            gross, gross_text, paid_fee_text = 0, "", fee_text
            sums[fee_slot] += amount
            amount_cells = ("", pct, fee_text if fee_slot == 2 else "",
                            fee_text if fee_slot == 3 else "")
        else:
            gross, paid_fee_text = shown * amount, ""
            gross_text = amounts.get(gross)
            if gross_text is None:
                gross_text = amounts[gross] = money(gross, currency)
            amount_cells = (gross_text, pct, "", "")
        if description.startswith(formula):
            description = safe_cell(description)
        lines.append(f"{monday},{sunday},{line_type},{booked},{csv_middle},"
                     f"{amount_cells[0]},{pct},{amount_cells[2]},{amount_cells[3]},"
                     f"{net_text},{currency_cell},{description}")
        cells_of.append((line_type, booked, tail, amount_cells, net_text, currency_cell,
                         description))
        pdf_lines.append(pdf_format(
            booked[:10], type_cell, pdf_middle,
            gross_text if len(gross_text) <= 13 else _cut(gross_text, 13),
            paid_fee_text if len(paid_fee_text) <= 10 else _cut(paid_fee_text, 10),
            net_text if len(net_text) <= 13 else _cut(net_text, 13), pdf_currency))
        sums[0] += 1
        sums[1] += gross
        sums[4] += net
        count += 1
        if len(lines) >= _LINES:
            _write_lines(lines, cells_of, text, writer, week)
            pdf.lines(pdf_lines)
            lines.clear(), cells_of.clear(), pdf_lines.clear()
    _write_lines(lines, cells_of, text, writer, week)
    pdf.lines(pdf_lines)
    return count


# a PDF row: date, type, what _middle gives (order, document, buyer, due), amounts, currency
_PDF_ROW = "{:<10} {:<23} {} {:>13} {:>10} {:>13} {:<3}"
_PDF_MIDDLE = "{:<14} {:<12} {:<26} {:<10}"


def _middle(tail: tuple[Any, ...]) -> tuple[str, str]:
    """What a row's order and document (order number, order day, buyer id, company,
    country, document number, activation day, due day) put on its CSV line (the cells
    joined) and on its PDF line."""
    order_number, _, _, company, _, number, _, due = tail
    return ",".join(_middle_cells(tail)), _PDF_MIDDLE.format(
        _cut(order_number, 14), _cut(number or "", 12), _cut(company or "", 26), due or "")


def _middle_cells(tail: tuple[Any, ...]) -> tuple[str, ...]:
    """The CSV cells of a row's order and document (see :func:`_middle`)."""
    order_number, ordered_on, buyer_id, company, country, number, activation, due = tail
    document, buyer, formula = number or "", company or "", FORMULA_START
    return (safe_cell(order_number) if order_number.startswith(formula) else order_number,
            safe_cell(buyer) if buyer.startswith(formula) else buyer,
            "" if buyer_id is None else str(buyer_id),
            safe_cell(document) if document.startswith(formula) else document,
            ordered_on, activation or "", due or "",
            "" if country is None else safe_cell(country)
            if country.startswith(formula) else country)


def _write_lines(lines: list[str], cells_of: list[tuple[Any, ...]], text: IO[str],
                 writer: Any, week: tuple[str, str]) -> None:
    """Write CSV lines (each its cells joined by commas) as the CSV writer writes their
    cells: as they are when no cell holds a comma, quote, CR, LF or NUL (then the writer
    quotes none: checked on all the lines at once), else that line through the writer."""
    if not lines:
        return
    if "".join(lines).count(",") == _COMMAS * len(lines) and not _QUOTED.search(
            "".join(lines)):  # each line has at least _COMMAS: then exactly
        text.write("\r\n".join(lines) + "\r\n")
        return
    for line, cells in zip(lines, cells_of, strict=True):
        if line.count(",") == _COMMAS and not _QUOTED.search(line):
            text.write(line + "\r\n")
        else:
            (line_type, booked, tail, amounts, net_text, currency_cell,
             description) = cells
            writer.writerow((*week, line_type, booked, *_middle_cells(tail), *amounts,
                             net_text, currency_cell, description))


@contextmanager
def _aside(path: Path, mode: str) -> Iterator[tuple[Path, IO[Any]]]:
    """A new file of a unique name next to ``path``, removed again if writing it fails."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    text = {} if "b" in mode else {"newline": "", "encoding": "utf-8"}
    try:
        with os.fdopen(fd, mode, **text) as file:
            yield Path(name), file
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def build_last_week(engine: Engine, folder: Path, today: date | None = None,
                    ) -> list[Statement]:
    """Each Monday: last week's statement of every merchant that had movements in it,
    unless it was built already."""
    today = today or datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday() + 7)
    week = week_of(monday)
    start = datetime.combine(monday, time(), UTC)
    with session_scope(engine, write=False) as session:
        merchant_ids = session.scalars(select(Movement.merchant_id).where(
            Movement.occurred_at >= start, Movement.occurred_at < start + timedelta(days=7))
            .distinct().order_by(Movement.merchant_id)).all()
    built = []
    for merchant_id in merchant_ids:
        stem = folder / str(merchant_id) / f"statement-{merchant_id}-{week}"
        if not (stem.with_suffix(".csv").exists() and stem.with_suffix(".pdf").exists()):
            built.append(build_statement(engine, merchant_id, week, folder))
            log.info("statement %s of merchant %s built: %s movements", week, merchant_id,
                     built[-1].rows)
    return built
