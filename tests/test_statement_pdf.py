"""The streaming statement PDF: pagination, text, header and footer, structure and flat memory."""

from __future__ import annotations

import io
import logging
import math
import re
import tracemalloc
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from core.statements.pdf import StreamingPdf, encode_text

HEADER = "Date        Order        Buyer                    Amount"
TITLE = "Statement week 19 (Müller GmbH)"
HEADING = "Week 19 \u2013 Müller GmbH"  # en dash
TYPOGRAPHY = "Zoë Ørsted naïve façade — “quoted” \u2018single\u2019 • 5 %"


def render(lines: int = 0, header: tuple[str, ...] = (HEADER,), **kwargs: object) -> bytes:
    """A document of ``lines`` numbered lines, as bytes."""
    out = io.BytesIO()
    with StreamingPdf(out, title=TITLE, header=header, **kwargs) as pdf:  # type: ignore[arg-type]
        for number in range(lines):
            pdf.line(f"line {number:06d}")
    return out.getvalue()


def read(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data), strict=True)


def texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in read(data).pages]


def lines_per_page(header: tuple[str, ...] = (HEADER,)) -> int:
    return StreamingPdf(io.BytesIO(), header=header).lines_per_page


# -- pagination ------------------------------------------------------------------------------


def test_default_geometry():
    pdf = StreamingPdf(io.BytesIO(), header=[HEADER])
    assert pdf.chars_per_line == 160  # (842 - 2 * 36) / (8 * 0.6)
    assert pdf.lines_per_page == 50
    assert StreamingPdf(io.BytesIO()).lines_per_page > pdf.lines_per_page
    assert StreamingPdf(io.BytesIO(), font_size=10).chars_per_line == 128


@pytest.mark.parametrize("header", [(), (HEADER,), (HEADER, "-" * 60, "x")])
def test_page_count_follows_lines_per_page(header):
    per_page = lines_per_page(header)
    for count in (1, per_page - 1, per_page, per_page + 1, 3 * per_page + 7):
        expected = math.ceil(count / per_page)
        assert len(read(render(count, header)).pages) == expected, count


def test_every_line_lands_once_in_order():
    per_page = lines_per_page()
    pages = texts(render(2 * per_page + 5))
    found = [int(m) for text in pages for m in re.findall(r"line (\d{6})", text)]
    assert found == list(range(2 * per_page + 5))
    assert len(re.findall(r"line \d{6}", pages[0])) == per_page


def test_page_break_never_makes_an_empty_page():
    out = io.BytesIO()
    with StreamingPdf(out, title=TITLE) as pdf:
        pdf.page_break()
        pdf.line("one")
        pdf.page_break()
        pdf.page_break()
        pdf.line("two")
        pdf.page_break()
        assert pdf.page_count == 2
    pages = texts(out.getvalue())
    assert len(pages) == 2
    assert "one" in pages[0] and "two" not in pages[0]
    assert "two" in pages[1]


def test_a_heading_is_kept_with_the_line_after_it():
    out = io.BytesIO()
    with StreamingPdf(out, header=[HEADER]) as pdf:
        for number in range(pdf.lines_per_page - 1):
            pdf.line(f"row {number}")
        pdf.heading("Refunds")
        pdf.line("first refund")
    pages = texts(out.getvalue())
    assert len(pages) == 2
    assert "Refunds" not in pages[0]
    assert pages[1].index("Refunds") < pages[1].index("first refund")


def test_a_blank_line_at_the_end_of_a_page_is_dropped():
    out = io.BytesIO()
    with StreamingPdf(out) as pdf:
        for number in range(pdf.lines_per_page):
            pdf.line(f"row {number}")
        pdf.blank()
        pdf.line("next page")
        pdf.blank()
    pages = texts(out.getvalue())
    assert len(pages) == 2
    assert pages[1].splitlines()[0] == "next page"


# -- text ------------------------------------------------------------------------------------


def test_headings_and_lines_come_back_exactly():
    out = io.BytesIO()
    with StreamingPdf(out, title=TITLE, header=[HEADER]) as pdf:
        pdf.heading(HEADING)
        pdf.line("2026-05-04  A-1001  Müller GmbH  € 12,30")
        pdf.line("refund (partial) for order (A-1002)", bold=True)
        pdf.blank()
        pdf.line(r"path C:\exports\week\19 and a lone \ and \(")
        pdf.line(TYPOGRAPHY)
    text = texts(out.getvalue())[0]
    assert HEADING in text
    assert "2026-05-04  A-1001  Müller GmbH  € 12,30" in text
    assert "refund (partial) for order (A-1002)" in text
    assert r"path C:\exports\week\19 and a lone \ and \(" in text
    assert TYPOGRAPHY in text


def test_the_euro_sign_is_winansi_0x80():
    assert encode_text("€ 12,30", 20) == b"\x80 12,30"
    content = b"".join(
        zlib.decompress(m.group(1))
        for m in re.finditer(rb"stream\n(.*?)\nendstream", render_one("€ 12,30"), re.DOTALL)
    )
    assert b"(\x80 12,30) Tj" in content


def render_one(text: str) -> bytes:
    out = io.BytesIO()
    with StreamingPdf(out) as pdf:
        pdf.line(text)
    return out.getvalue()


def test_text_is_normalised_cleaned_and_replaced():
    assert encode_text("Mu\u0308ller", 20) == "Müller".encode("cp1252")
    assert encode_text("a\tb\nc\r\nd\x00e\x07f\x7f", 20) == b"a b c  def"
    assert encode_text("Łódź 🙂", 20) == b"?\xf3d? ?"
    assert encode_text("abcdef", 4) == b"abc\x85"
    assert encode_text("abcd", 4) == b"abcd"


def test_an_over_long_line_is_cut_with_an_ellipsis():
    out = io.BytesIO()
    with StreamingPdf(out) as pdf:
        pdf.line("0123456789" * 30)
        pdf.heading("H" * 300)
        width, heading_width = pdf.chars_per_line, pdf.heading_chars
    lines = texts(out.getvalue())[0].splitlines()
    assert lines[0] == ("0123456789" * 30)[: width - 1] + "…"
    assert len(lines[0]) == width
    assert lines[1] == "H" * (heading_width - 1) + "…"


def test_a_line_exactly_as_wide_as_the_page_is_not_cut():
    pdf = StreamingPdf(io.BytesIO())
    text = "x" * pdf.chars_per_line
    assert texts(render_one(text))[0].splitlines()[0] == text


# -- header, footer, metadata ----------------------------------------------------------------


def test_the_header_repeats_and_every_page_has_its_footer():
    header = (HEADER, "=" * 56)
    pages = texts(render(3 * lines_per_page(header) + 1, header))
    assert len(pages) == 4
    for number, text in enumerate(pages, start=1):
        lines = text.splitlines()
        assert lines[:2] == list(header)
        assert re.search(rf"\bpage {number}$", lines[-1]), lines[-1]
        assert lines[-1].startswith(TITLE)


def test_an_empty_document_is_one_valid_page():
    data = render(0)
    reader = read(data)
    assert len(reader.pages) == 1
    lines = reader.pages[0].extract_text().splitlines()
    assert lines[0] == HEADER
    assert lines[-1].startswith(TITLE) and lines[-1].endswith("page 1")
    assert len(read(render(0, header=())).pages) == 1


def test_metadata_and_page_geometry():
    created = datetime(2026, 5, 11, 6, 30, tzinfo=UTC)
    reader = read(render(3, created=created))
    assert reader.metadata is not None
    assert reader.metadata.title == TITLE
    assert reader.metadata.producer == "invoicekit"
    assert reader.metadata.creation_date == created
    box = reader.pages[0].mediabox
    assert (box.width, box.height) == (842, 595)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert {font["/BaseFont"] for font in fonts.values()} == {"/Courier", "/Courier-Bold"}
    assert {font["/Encoding"] for font in fonts.values()} == {"/WinAnsiEncoding"}


def test_the_output_is_deterministic_for_a_fixed_creation_date():
    created = datetime(2026, 5, 11, tzinfo=UTC)
    assert render(120, created=created) == render(120, created=created)


# -- file structure --------------------------------------------------------------------------


def test_xref_offsets_are_exact(caplog: pytest.LogCaptureFixture):
    data = render(5 * lines_per_page() + 3)
    with caplog.at_level(logging.DEBUG, logger="pypdf"):
        reader = read(data)  # strict: raises on a broken structure
        assert all(page.extract_text() for page in reader.pages)
    assert caplog.records == []  # pypdf repairs a wrong offset silently, but logs it
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))
    assert data[startxref:].startswith(b"xref\n0 ")
    table = data[startxref:].split(b"trailer")[0]
    head, *entries = table.splitlines(keepends=True)[1:]
    first, count = map(int, head.split())
    assert (first, len(entries)) == (0, count)
    assert entries[0] == b"0000000000 65535 f \n"
    for number, entry in enumerate(entries[1:], start=1):
        assert len(entry) == 20 and entry.endswith(b" 00000 n \n")
        offset = int(entry[:10])
        assert data[offset:].startswith(b"%d 0 obj\n" % number), number
    assert re.search(rb"/Size %d\b" % count, data)


def test_it_writes_to_an_unseekable_stream(tmp_path: Path):
    class Pipe:
        def __init__(self) -> None:
            self.chunks: list[bytes] = []

        def write(self, data: bytes) -> int:
            self.chunks.append(bytes(data))
            return len(data)

    pipe = Pipe()
    with StreamingPdf(pipe, title=TITLE) as pdf:  # type: ignore[arg-type]
        pdf.line("through a pipe")
    assert "through a pipe" in texts(b"".join(pipe.chunks))[0]


def test_pages_are_written_while_streaming():
    out = io.BytesIO()
    pdf = StreamingPdf(out)
    for number in range(pdf.lines_per_page * 3):
        pdf.line(f"row {number}")
    assert out.getvalue().count(b"/Type /Page ") == 2  # the third page is still open
    assert pdf.page_count == 3
    pdf.close()
    assert out.getvalue().count(b"/Type /Page ") == 3


def test_closed_and_failed_documents():
    out = io.BytesIO()
    pdf = StreamingPdf(out)
    pdf.close()
    pdf.close()  # closing twice is harmless
    with pytest.raises(ValueError, match="closed"):
        pdf.line("late")
    failed = io.BytesIO()
    with pytest.raises(RuntimeError), StreamingPdf(failed) as broken:
        broken.line("half")
        raise RuntimeError("boom")
    assert b"%%EOF" not in failed.getvalue()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="font_size"):
        StreamingPdf(io.BytesIO(), font_size=2)
    with pytest.raises(ValueError, match="header"):
        StreamingPdf(io.BytesIO(), header=["h"] * 60)


# -- memory ----------------------------------------------------------------------------------


def peak_bytes(path: Path, lines: int) -> int:
    """Peak traced memory while writing ``lines`` statement lines to ``path``."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with path.open("wb") as out, StreamingPdf(out, title=TITLE, header=[HEADER]) as pdf:
            for number in range(lines):
                pdf.line(f"2026-05-{number % 28 + 1:02d}  A-{number:08d}  Müller GmbH"
                         f"  € {number % 9999},{number % 100:02d}")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_stays_flat(tmp_path: Path):
    small = peak_bytes(tmp_path / "small.pdf", 50_000)
    large = peak_bytes(tmp_path / "large.pdf", 200_000)
    assert large < 5_000_000
    assert large / small < 1.5, (small, large)
    assert len(read((tmp_path / "large.pdf").read_bytes()).pages) == math.ceil(
        200_000 / lines_per_page()
    )
