"""The statement's rows written straight from the journal's raw rows (``_write_rows``) are
byte for byte what the row-by-row path writes (``_row``, ``_csv_values``, ``_pdf_values``,
``_pdf_line`` through the safe CSV writer and ``StreamingPdf.line``), for any text."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.spreadsheet import safe_cell
from core.spreadsheet import writer as csv_writer
from core.statements.build import (
    LINE_TYPES,
    Totals,
    _csv_values,
    _pdf_line,
    _pdf_values,
    _row,
    _write_rows,
)
from core.statements.pdf import StreamingPdf, encode_text

CREATED = datetime(2026, 3, 9, 6, tzinfo=UTC)
WEEK = (date(2026, 3, 2), date(2026, 3, 8))
TEXT = st.one_of(
    st.sampled_from(["", "1001", "Käufer 5 GmbH", "=HYPERLINK(1)", "+49", "-12.50", "@x",
                     "\tx", "a,b", 'a"b', "a\nb", "a\r\nb", "(x) \\ y", "€ 5", "日本語",
                     "e\u0301", "\u0301x", "x" * 40, "\x00\x85\x1f", "  "]),
    st.text(max_size=40))
DAY = st.dates(date(2020, 1, 1), date(2030, 12, 31))
MOMENT = st.datetimes(datetime(2026, 3, 2), datetime(2026, 3, 8, 23, 59, 59))


@st.composite
def movement(draw: st.DrawFn) -> tuple[object, ...]:
    """A row of the statement's journal as the ORM-era path read it: aware times, dates."""
    day = st.one_of(st.none(), DAY)
    return (draw(st.sampled_from([*LINE_TYPES, "something_new"])),
            draw(st.integers(-10**12, 10**12)), draw(st.sampled_from(["EUR", "JPY", "BHD"])),
            draw(MOMENT).replace(tzinfo=UTC), draw(TEXT), draw(TEXT),
            draw(MOMENT).replace(tzinfo=UTC),
            draw(st.one_of(st.none(), st.integers(1, 10**9))), draw(st.one_of(st.none(), TEXT)),
            draw(st.one_of(st.none(), TEXT)), draw(st.one_of(st.none(), TEXT)),
            draw(st.sampled_from([None, "invoice", "credit_note"])), draw(day), draw(day),
            draw(day), draw(day))


def raw(values: tuple[object, ...]) -> tuple[object, ...]:
    """The row as the statement's text query gives it (``_rows_query(..., text=...)``): the
    times and days as the database writes them (checked against the database in
    ``test_statements.py``), the document's days picked."""
    (kind, amount, currency, occurred_at, description, order_number, ordered_at, buyer_id,
     company, country, number, doc_kind, doc_issued, doc_due, orig_issued, orig_due) = values
    invoice = doc_kind == "invoice"
    activation, due = (doc_issued, doc_due) if invoice else (orig_issued, orig_due)
    return (kind, amount, currency, occurred_at.isoformat(timespec="seconds"), description,
            order_number, ordered_at.date().isoformat(), buyer_id, company, country, number,
            activation and activation.isoformat(), due and due.isoformat())


def row_by_row(rows: list[tuple[object, ...]], fee_pct: Decimal) -> tuple[str, bytes]:
    """The reference: each raw row as the ORM-era path read it (aware times, dates), made a
    ``StatementRow`` and written through the safe writer and ``line``."""
    text, binary = io.StringIO(), io.BytesIO()
    writer = csv_writer(text)
    with StreamingPdf(binary, title="t", header=["h"], created=CREATED) as pdf:
        for values in rows:
            row = _row(values, None)
            writer.writerow(_csv_values(row, WEEK, fee_pct))
            pdf.line(_pdf_line(_pdf_values(row)))
    return text.getvalue(), binary.getvalue()


def straight(rows: list[tuple[object, ...]], fee_pct: Decimal) -> tuple[str, bytes, Totals]:
    text, binary, totals = io.StringIO(), io.BytesIO(), Totals()
    with StreamingPdf(binary, title="t", header=["h"], created=CREATED) as pdf:
        assert _write_rows([raw(r) for r in rows], text, pdf, totals,
                           (WEEK[0].isoformat(), WEEK[1].isoformat()),
                           str(safe_cell(str(fee_pct)))) == len(rows)
    return text.getvalue(), binary.getvalue(), totals


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(movement(), max_size=60),
       fee_pct=st.sampled_from([Decimal("1.5"), Decimal("0"), Decimal("-2.25")]))
def test_the_cells_are_those_of_the_row_by_row_path(rows, fee_pct):
    csv_text, pdf_bytes, totals = straight(rows, fee_pct)
    assert (csv_text, pdf_bytes) == row_by_row(rows, fee_pct)
    expected = Totals()
    for values in rows:
        expected.add(_row(values, None))
    assert totals.by_type == expected.by_type


def test_a_page_full_of_rows_breaks_as_before():
    rows = [("invoice", 1000 + n, "EUR",
             datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=n, microseconds=999_999),
             f"invoice of order {n}", str(n), datetime(2026, 3, 1, tzinfo=UTC), n,
             "Käufer (1) \\ GmbH", "DE", f"INV-{n}", "invoice", date(2026, 3, 1),
             date(2026, 3, 31), None, None)
            for n in range(250)]
    csv_text, pdf_bytes, _ = straight(rows, Decimal("1.5"))
    assert (csv_text, pdf_bytes) == row_by_row(rows, Decimal("1.5"))


@given(st.text(max_size=200))
def test_a_line_is_encoded_as_encode_text_does(text):
    one, other = io.BytesIO(), io.BytesIO()
    with StreamingPdf(one, created=CREATED) as fast, StreamingPdf(other, created=CREATED) as ref:
        fast.line(text)
        ref._ensure_room(ref._leading)
        ref._text(b"/F1", ref._size, ref._cursor - ref._size,
                  encode_text(text, ref.chars_per_line))
        ref._cursor -= ref._leading
    assert one.getvalue() == other.getvalue()


@settings(max_examples=30, deadline=None)
@given(lines=st.lists(st.one_of(TEXT, st.text(max_size=150)), max_size=400),
       breaks=st.sets(st.integers(0, 400), max_size=5))
def test_pages_compressed_aside_give_the_same_bytes(lines, breaks):
    """``compress_aside`` (pages compressed by a thread of their own, written a few pages
    behind) writes exactly the bytes of the PDF compressed in turn, page count included."""
    def document(aside: bool) -> tuple[bytes, list[int]]:
        out, counts = io.BytesIO(), []
        with StreamingPdf(out, title="t", header=["h"], created=CREATED,
                          compress_aside=aside) as pdf:
            pdf.heading("week")
            for n, text in enumerate(lines):
                if n in breaks:
                    pdf.page_break()
                pdf.line(text)
                counts.append(pdf.page_count)
            pdf.blank()
        return out.getvalue(), counts

    assert document(True) == document(False)


@settings(max_examples=50, deadline=None)
@given(texts=st.lists(st.one_of(TEXT, st.text(max_size=150)), max_size=300))
def test_lines_write_what_line_writes_line_by_line(texts):
    """``StreamingPdf.lines`` (the statement's rows, many at a time) gives the bytes of
    ``line`` called for each: escapes, cuts, encodings and page breaks alike."""
    def document(many: bool) -> bytes:
        out = io.BytesIO()
        with StreamingPdf(out, title="t", header=["h"], created=CREATED) as pdf:
            pdf.heading("week")
            if many:
                pdf.lines(texts[:100])
                pdf.lines(texts[100:])
            else:
                for text in texts:
                    pdf.line(text)
        return out.getvalue()

    assert document(True) == document(False)
