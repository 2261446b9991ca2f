"""JSON for Billie with exact money: ``Decimal`` goes out as a JSON number, digit for digit,
and JSON numbers with a fraction come back as ``Decimal``. A ``float`` is never sent."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]


def dumps(value: Any) -> bytes:
    """``value`` as compact JSON; ``Decimal("119.00")`` is written as ``119.00``."""
    return "".join(_encode(value)).encode()


def _encode(value: Any) -> Iterator[str]:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("cannot send a non-finite amount")
        yield format(value, "f")
    elif isinstance(value, float):
        raise TypeError("floats are never sent to Billie; use Decimal")
    elif isinstance(value, Mapping):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            if index:
                yield ","
            yield json.dumps(str(key))
            yield ":"
            yield from _encode(item)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _encode(item)
        yield "]"
    else:
        yield json.dumps(value)


def loads(text: str | bytes) -> Any:
    """Parse JSON; numbers with a fraction become ``Decimal``. Raises ``ValueError``."""
    return json.loads(text, parse_float=Decimal)
