"""Exact money: integer minor units, ISO 4217 exponents, rounding once, splitting to the cent.

Amounts inside the kit are ``int`` minor units of the order's currency (cents for EUR, yen
for JPY, fils for BHD). ``Decimal`` appears only at the edges, where a shop's decimal string
is read or an amount is shown. A ``float`` is refused wherever money enters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision, is_currency

__all__ = [
    "Amount",
    "allocate",
    "exponent",
    "is_known_currency",
    "net_of",
    "parse_decimal",
    "percent_of",
    "share",
    "to_decimal",
    "to_minor",
]

_DECIMAL_TEXT = re.compile(r"-?\d{1,15}(\.\d{1,12})?")


def is_known_currency(code: str) -> bool:
    """True for an upper-case ISO 4217 alpha-3 code known to CLDR."""
    return isinstance(code, str) and len(code) == 3 and code.isupper() and _known(code)


@lru_cache(maxsize=512)
def _known(code: str) -> bool:
    return is_currency(code)  # babel lists every currency at each call: asked once per code


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (EUR 2, JPY 0, BHD 3)."""
    if not is_known_currency(currency):
        raise ValueError(f"unknown currency {currency!r}")
    return _precision(currency)


@lru_cache(maxsize=512)
def _precision(currency: str) -> int:
    return get_currency_precision(currency)


def parse_decimal(value: object) -> Decimal:
    """Read a money value given as a decimal string or ``Decimal``; refuse floats and ints.

    Integers are refused because ``1999`` is ambiguous (19.99 or 1999.00?).
    """
    if isinstance(value, bool | float | int):
        raise ValueError("must be a decimal string such as \"12.34\", not a JSON number")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("must be a finite amount")
        return value
    if not isinstance(value, str) or not _DECIMAL_TEXT.fullmatch(value):
        raise ValueError("must be a decimal string such as \"12.34\"")
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes it
        raise ValueError("must be a decimal string such as \"12.34\"") from exc


def to_minor(value: Decimal | str, currency: str, *, rounding: str | None = None) -> int:
    """Convert a major-unit amount to integer minor units.

    Without ``rounding`` the amount must already be exact to the currency's exponent
    (``"12.345"`` EUR raises); with a ``decimal`` rounding mode it is rounded once.
    """
    amount = parse_decimal(value)
    scaled = amount.scaleb(exponent(currency))
    whole = scaled.to_integral_value(rounding=rounding or ROUND_HALF_UP)
    if rounding is None and whole != scaled:
        raise ValueError(f"has more decimals than {currency} allows ({exponent(currency)})")
    return int(whole)


def to_decimal(minor: int, currency: str) -> Decimal:
    """Integer minor units back to a ``Decimal`` with the currency's exponent."""
    places = exponent(currency)
    return (Decimal(minor).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def money_text(minor: int, currency: str) -> str:
    """An amount as people read it: ``12.30 EUR``."""
    return f"{to_decimal(minor, currency)} {currency}"


def percent_of(amount: int, percent: Decimal) -> int:
    """``percent`` % of ``amount`` minor units, rounded half up once."""
    return int((Decimal(amount) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` minor units in proportion to ``weights`` by largest remainder.

    The parts always add up to ``total`` exactly. Ties go to the earlier weight, so the result
    is deterministic. Zero weights get zero unless every weight is zero, in which case the
    total goes to the first part.
    """
    if not weights:
        raise ValueError("cannot allocate over no weights")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [total] + [0] * (len(weights) - 1)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    leftover = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return [sign * part for part in floors]


def share(total: int, part: int, whole: int) -> int:
    """``total * part / whole`` rounded half up: the amount of ``part`` units out of ``whole``.

    Used cumulatively (``share(t, done + k, n) - share(t, done, n)``) the pieces of a line
    always add up to the line's total once all ``n`` units are counted.
    """
    if whole <= 0:
        raise ValueError("whole must be positive")
    numerator = total * part * 2 + whole
    return numerator // (2 * whole)


@dataclass(frozen=True, slots=True)
class Amount:
    """A gross amount with its net and tax parts, in minor units; ``gross == net + tax``."""

    gross: int
    net: int
    tax: int

    def __post_init__(self) -> None:
        if self.net + self.tax != self.gross:
            raise ValueError(f"net {self.net} + tax {self.tax} != gross {self.gross}")

    @classmethod
    def zero(cls) -> Amount:
        return cls(0, 0, 0)

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.gross + other.gross, self.net + other.net, self.tax + other.tax)

    def __sub__(self, other: Amount) -> Amount:
        return Amount(self.gross - other.gross, self.net - other.net, self.tax - other.tax)


def net_of(gross: int, rate: Decimal) -> int:
    """Net part of a gross amount at ``rate`` percent, rounded half up once."""
    net = Decimal(gross) * 100 / (100 + rate)
    return int(net.to_integral_value(rounding=ROUND_HALF_UP))
