"""CSV for spreadsheet applications: a cell that a spreadsheet would read as a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written as text,
prefixed with an apostrophe, as OWASP's advice on CSV injection asks. Plain numbers, negative
ones included, stay numbers. Every CSV the kit hands to a person goes through :func:`writer`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["safe_cell", "writer"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet will show it, never run it."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    return value if _NUMBER.fullmatch(value) else "'" + value


class _SafeWriter:
    def __init__(self, stream: _Writable, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: _Writable, **options: Any) -> _SafeWriter:
    """A :func:`csv.writer` whose every cell is made safe by :func:`safe_cell`."""
    return _SafeWriter(stream, **options)
