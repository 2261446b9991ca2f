"""A streaming PDF writer for long monospaced reports (weekly statements of any length).

Each page is compressed and written to the output as soon as it is full, so memory stays flat:
only the byte offset of every object and the number of every page object are kept (a few
bytes per page, in ``array`` buffers). The text is set in the PDF base-14 fonts Courier and
Courier-Bold in WinAnsi (windows-1252) encoding: no font file is embedded, and since every
glyph is 600/1000 em wide, columns line up by counting characters (see ``chars_per_line``).

Layout: landscape A4. Every page repeats the ``header`` lines (bold, under them a rule) and
carries a footer with the title and "page N" (the total is unknown while streaming).

    with path.open("wb") as out, StreamingPdf(out, title="Statement", header=[cols]) as pdf:
        pdf.heading("Week 19")
        for row in rows:
            pdf.line(row)

The document is finished (page tree, catalog, info, cross-reference table, trailer) when the
``with`` block ends without an exception, or on ``close()``. After an exception the output is
left unfinished, as it would be incomplete anyway.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
import zlib
from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from encodings import cp1252
from functools import lru_cache
from types import TracebackType
from typing import BinaryIO, Self

__all__ = ["PAGE_HEIGHT", "PAGE_WIDTH", "StreamingPdf", "encode_text"]

PAGE_WIDTH = 842
PAGE_HEIGHT = 595
MARGIN = 36
FOOTER_BASELINE = 20
GLYPH_WIDTH = 0.6  # every Courier glyph is 600/1000 em wide
PRODUCER = "invoicekit"
ELLIPSIS = b"\x85"  # "…" in windows-1252

# Object numbers fixed up front; pages and their content streams follow from FIRST_FREE on.
PAGES, CATALOG, INFO, REGULAR, BOLD = 1, 2, 3, 4, 5
FIRST_FREE = 6
KIDS_CHUNK = 512
_AHEAD = 4  # pages at most being compressed aside (compress_aside) while the next are set

_cp1252 = codecs.charmap_encode  # what the cp1252 codec calls, without the lookup
_CP1252_TABLE = cp1252.encoding_table
_WHITESPACE_CONTROLS = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_EPSILON = 1e-6


def encode_text(text: str, width: int) -> bytes:
    """``text`` as at most ``width`` windows-1252 bytes, cut with "…" when longer.

    NFC-normalised; tabs and line breaks become spaces, other control characters are dropped;
    characters windows-1252 lacks become "?".
    """
    if not text.isascii():  # ASCII text is NFC already
        text = unicodedata.normalize("NFC", text)
    if not text.isprintable():  # printable text holds none of the controls (all of them Cc)
        text = _CONTROLS.sub("", _WHITESPACE_CONTROLS.sub(" ", text))
    raw = _cp1252(text, "replace", _CP1252_TABLE)[0]  # text.encode("cp1252", "replace")
    if len(raw) > width:
        raw = raw[: max(width - 1, 0)] + ELLIPSIS if width > 0 else b""
    return raw


def _literal(raw: bytes) -> bytes:
    """A PDF literal string of ``raw`` bytes, with backslash and parentheses escaped."""
    escaped = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + escaped + b")"


def _text_string(text: str) -> bytes:
    """A PDF text string (UTF-16BE with byte order mark, as a hex string) for ``text``."""
    return b"<" + ("\ufeff" + text).encode("utf-16-be").hex().upper().encode("ascii") + b">"


@lru_cache(maxsize=4096)  # the same few sizes and baselines on every page
def _num(value: float) -> bytes:
    """A PDF number with at most two decimals and no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".").encode("ascii")


def _line_start(font: bytes, size: float, baseline: float) -> bytes:
    """What :meth:`StreamingPdf._text` writes before the string."""
    return b"BT %s %s Tf 1 0 0 1 %d %s Tm " % (font, _num(size), MARGIN, _num(baseline))


def _pdf_date(moment: datetime) -> bytes:
    """A PDF date string, in UTC."""
    return moment.astimezone(UTC).strftime("(D:%Y%m%d%H%M%S+00'00')").encode("ascii")


class StreamingPdf:
    """Writes a monospaced landscape A4 report to ``out`` page by page (see the module doc)."""

    def __init__(
        self,
        out: BinaryIO,
        *,
        title: str = "",
        header: Sequence[str] = (),
        font_size: float = 8.0,
        created: datetime | None = None,
        compress_aside: bool = False,
    ) -> None:
        if not 4 <= font_size <= 24:
            raise ValueError(f"font_size must be between 4 and 24 points, not {font_size}")
        self._out = out
        self._title = title
        self._created = created or datetime.now(UTC)
        self._size = font_size
        self._leading = font_size * 1.25
        self._heading_size = font_size * 1.5
        self._heading_leading = self._heading_size * 1.25
        usable = PAGE_WIDTH - 2 * MARGIN
        self.chars_per_line: int = int(usable / (font_size * GLYPH_WIDTH) + _EPSILON)
        """How many characters ``line`` sets on one line before cutting."""
        self.heading_chars: int = int(usable / (self._heading_size * GLYPH_WIDTH) + _EPSILON)
        """How many characters ``heading`` sets before cutting."""
        self._header = [encode_text(text, self.chars_per_line) for text in header]
        self._body_top = self._header_bottom()
        self.lines_per_page: int = int((self._body_top - MARGIN) / self._leading + _EPSILON)
        """How many ``line`` calls fill one page below the header."""
        if self._body_top - MARGIN < self._heading_leading + self._leading - _EPSILON:
            raise ValueError("the header leaves no room for a heading and a line on a page")
        self._written = 0
        self._offsets = array("Q", [0] * FIRST_FREE)
        self._pages = array("L")
        self._ops: list[bytes] = []
        self._cursor = self._body_top
        self._closed = False
        # what ``line`` writes before the string, by cursor: regular, bold
        self._starts: tuple[dict[float, bytes], dict[float, bytes]] = ({}, {})
        # with compress_aside, pages are compressed by a thread of their own (zlib lets go
        # of the GIL) while the next ones are set; written in order, a few pages behind
        self._compressor = ThreadPoolExecutor(1, "pdf") if compress_aside else None
        self._compressing: deque[Future[bytes]] = deque()
        self._finished = 0  # pages finished: written, or compressing
        self._begin()

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        elif self._compressor is not None:
            self._compressor.shutdown(wait=True, cancel_futures=True)

    # -- public API --------------------------------------------------------------------------

    @property
    def page_count(self) -> int:
        """Pages written so far, counting a started page; the total once closed."""
        return self._finished + (1 if self._ops else 0)

    def heading(self, text: str) -> None:
        """A bold heading, larger than a line; kept on one page with the line after it."""
        self._ensure_room(self._heading_leading + self._leading)
        baseline = self._cursor - self._heading_size
        self._text(b"/F2", self._heading_size, baseline, encode_text(text, self.heading_chars))
        self._cursor -= self._heading_leading

    def line(self, text: str, bold: bool = False) -> None:
        """One monospaced line, cut with "…" beyond ``chars_per_line`` characters."""
        cursor = self._cursor
        if not self._ops or self._closed or cursor - self._leading < MARGIN - _EPSILON:
            self._ensure_room(self._leading)  # a new page (or closed: raises)
            cursor = self._cursor
        # the same bytes as _text, its operators before the string made once per baseline
        if len(text) <= self.chars_per_line and text.isprintable():
            # what encode_text returns for printable text within windows-1252: every such
            # string is NFC already (no character of it decomposes or combines), so only
            # one that holds a character beyond windows-1252 takes the long way
            try:
                raw = _cp1252(text, "strict", _CP1252_TABLE)[0]
            except UnicodeEncodeError:
                raw = encode_text(text, self.chars_per_line)
        else:
            raw = encode_text(text, self.chars_per_line)
        starts = self._starts[bold]  # the same baselines on every page: a few
        start = starts.get(cursor)
        if start is None:
            start = starts[cursor] = _line_start(b"/F2" if bold else b"/F1", self._size,
                                                 cursor - self._size)
        self._ops.append(start + _literal(raw) + b" Tj ET\n")
        self._cursor = cursor - self._leading

    def lines(self, texts: Iterable[str]) -> None:
        """``line(text)`` for each of ``texts`` in turn (the same bytes), with less work per
        line: for a statement's many lines."""
        ops, starts, leading = self._ops, self._starts[False], self._leading
        bottom, width = MARGIN - _EPSILON, self.chars_per_line
        for text in texts:
            cursor = self._cursor
            if not ops or self._closed or cursor - leading < bottom:
                self._ensure_room(leading)  # a new page (or closed: raises)
                cursor = self._cursor
            if len(text) <= width and text.isprintable():  # as in line()
                try:
                    raw = _cp1252(text, "strict", _CP1252_TABLE)[0]
                except UnicodeEncodeError:
                    raw = encode_text(text, width)
            else:
                raw = encode_text(text, width)
            start = starts.get(cursor)
            if start is None:
                start = starts[cursor] = _line_start(b"/F1", self._size, cursor - self._size)
            if 40 in raw or 41 in raw or 92 in raw:  # ( ) \ to escape
                ops.append(start + _literal(raw) + b" Tj ET\n")
            else:
                ops.append(start + b"(" + raw + b") Tj ET\n")
            self._cursor = cursor - leading

    def blank(self) -> None:
        """An empty line; dropped when it would start a new page."""
        self._check_open()
        if not self._fits(self._leading):
            self._finish_page()
            return
        self._start_page()
        self._cursor -= self._leading

    def page_break(self) -> None:
        """End the current page; what follows starts a new one. No empty pages result."""
        self._check_open()
        if self._ops:
            self._finish_page()

    def close(self) -> None:
        """Write the last page, the page tree, catalog, info and cross-reference table."""
        if self._closed:
            return
        if self._ops or not self._finished:
            self._start_page()
            self._finish_page()
        while self._compressing:
            self._write_page(self._compressing.popleft().result())
        if self._compressor is not None:
            self._compressor.shutdown()
        self._write_pages_tree()
        self._write_object(CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % PAGES)
        self._write_object(INFO, self._info())
        self._write_xref_and_trailer()
        self._closed = True

    # -- layout --------------------------------------------------------------------------------

    def _header_bottom(self) -> float:
        """Where the body starts: below the header lines and their rule, if any."""
        top = PAGE_HEIGHT - MARGIN
        if not self._header:
            return top
        return top - len(self._header) * self._leading - self._size * 0.5

    def _fits(self, height: float) -> bool:
        return self._cursor - height >= MARGIN - _EPSILON

    def _ensure_room(self, height: float) -> None:
        """Start a new page unless ``height`` points still fit on the current one."""
        self._check_open()
        if self._ops and not self._fits(height):
            self._finish_page()
        self._start_page()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the PDF is already closed")

    def _text(self, font: bytes, size: float, baseline: float, raw: bytes) -> None:
        """Set ``raw`` (windows-1252) at the left margin on ``baseline``."""
        self._ops.append(
            b"BT %s %s Tf 1 0 0 1 %d %s Tm %s Tj ET\n"
            % (font, _num(size), MARGIN, _num(baseline), _literal(raw))
        )

    def _start_page(self) -> None:
        """Open a page (header lines and rule) unless one is open."""
        if self._ops:
            return
        self._ops.append(b"0 g\n")
        top = PAGE_HEIGHT - MARGIN
        for index, raw in enumerate(self._header):
            self._text(b"/F2", self._size, top - index * self._leading - self._size, raw)
        if self._header:
            rule = self._body_top + self._size * 0.25
            self._ops.append(
                b"0.5 w %d %s m %d %s l S\n"
                % (MARGIN, _num(rule), PAGE_WIDTH - MARGIN, _num(rule))
            )
        self._cursor = self._body_top

    def _footer(self) -> None:
        """Title on the left, "page N" on the right, under the body."""
        label = b"page %d" % (self._finished + 1)
        room = self.chars_per_line - len(label) - 2
        self._text(b"/F1", self._size, FOOTER_BASELINE, encode_text(self._title, room))
        label_x = PAGE_WIDTH - MARGIN - len(label) * self._size * GLYPH_WIDTH
        self._ops.append(
            b"BT /F1 %s Tf 1 0 0 1 %s %d Tm %s Tj ET\n"
            % (_num(self._size), _num(label_x), FOOTER_BASELINE, _literal(label))
        )

    def _finish_page(self) -> None:
        """Compress the open page and write its content stream and page object."""
        self._footer()
        data = b"".join(self._ops)
        self._ops.clear()
        self._finished += 1
        self._cursor = self._body_top
        if self._compressor is None:
            self._write_page(zlib.compress(data))
            return
        self._compressing.append(self._compressor.submit(zlib.compress, data))
        while len(self._compressing) > _AHEAD or self._compressing[0].done():
            self._write_page(self._compressing.popleft().result())
            if not self._compressing:
                break

    def _write_page(self, content: bytes) -> None:
        """Write a page's compressed content stream and its page object."""
        stream = self._new_object(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
            + content
            + b"\nendstream"
        )
        page = self._new_object(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> /Contents %d 0 R >>"
            % (PAGES, PAGE_WIDTH, PAGE_HEIGHT, REGULAR, BOLD, stream)
        )
        self._pages.append(page)

    # -- file structure -----------------------------------------------------------------------

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._written += len(data)

    def _begin(self) -> None:
        """The file header (with a binary comment) and the two font objects."""
        self._emit(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        for number, name in ((REGULAR, b"Courier"), (BOLD, b"Courier-Bold")):
            self._write_object(
                number,
                b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
                % name,
            )

    def _write_object(self, number: int, body: bytes | Iterable[bytes]) -> None:
        """Write object ``number`` (reserved or new) and remember its offset."""
        self._offsets[number] = self._written
        self._emit(b"%d 0 obj\n" % number)
        for part in [body] if isinstance(body, bytes) else body:
            self._emit(part)
        self._emit(b"\nendobj\n")

    def _new_object(self, body: bytes) -> int:
        """Write ``body`` as the next object number and return that number."""
        self._offsets.append(0)
        number = len(self._offsets) - 1
        self._write_object(number, body)
        return number

    def _write_pages_tree(self) -> None:
        """The root Pages object with a flat Kids array, written in chunks."""
        self._write_object(PAGES, self._pages_parts())

    def _pages_parts(self) -> Iterable[bytes]:
        yield b"<< /Type /Pages /Count %d /Kids [" % len(self._pages)
        for start in range(0, len(self._pages), KIDS_CHUNK):
            chunk = self._pages[start : start + KIDS_CHUNK]
            yield b"".join(b"%d 0 R " % number for number in chunk)
        yield b"] >>"

    def _info(self) -> bytes:
        return (
            b"<< /Title %s /Producer %s /CreationDate %s >>"
            % (_text_string(self._title), _literal(PRODUCER.encode("ascii")),
               _pdf_date(self._created))
        )

    def _write_xref_and_trailer(self) -> None:
        """The cross-reference table (exact offsets, 20 bytes an entry) and the trailer."""
        start = self._written
        count = len(self._offsets)
        self._emit(b"xref\n0 %d\n0000000000 65535 f \n" % count)
        for first in range(1, count, KIDS_CHUNK):
            chunk = self._offsets[first : first + KIDS_CHUNK]
            self._emit(b"".join(b"%010d 00000 n \n" % offset for offset in chunk))
        file_id = hashlib.md5(
            b"%s|%s|%d" % (self._title.encode("utf-8"), _pdf_date(self._created), start),
            usedforsecurity=False,
        ).hexdigest().encode("ascii")
        self._emit(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\n"
            b"startxref\n%d\n%%%%EOF\n"
            % (count, CATALOG, INFO, file_id, file_id, start)
        )
