"""Money: exact conversion, and splits that add up to the cent (largest remainder)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import Amount, allocate, exponent, share, to_decimal, to_minor
from core.rates import take


@pytest.mark.parametrize(("currency", "places"), [("EUR", 2), ("JPY", 0), ("BHD", 3)])
def test_exponents_come_from_iso_4217(currency, places):
    assert exponent(currency) == places


def test_conversion_is_exact_or_refused():
    assert to_minor("12.34", "EUR") == 1234
    assert to_minor("1000", "JPY") == 1000
    assert to_minor("1.234", "BHD") == 1234
    with pytest.raises(ValueError, match="more decimals"):
        to_minor("12.345", "EUR")
    assert to_minor(Decimal("12.345"), "EUR", rounding=ROUND_HALF_EVEN) == 1234
    assert to_decimal(1234, "EUR") == Decimal("12.34")
    assert str(to_decimal(5, "JPY")) == "5"


@pytest.mark.parametrize("value", [12.34, 1234, True])
def test_numbers_are_refused(value):
    with pytest.raises(ValueError):
        to_minor(value, "EUR")  # type: ignore[arg-type]


def test_allocate_known_split():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(5, [0, 0]) == [5, 0]


@given(st.integers(-10**9, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=30))
def test_allocation_adds_up_and_stays_within_one_unit(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    if weight_sum:
        for part, weight in zip(parts, weights, strict=True):
            assert abs(part - total * weight / weight_sum) < 1


@given(st.integers(0, 10**7),
       st.dictionaries(st.sampled_from([Decimal(r) for r in ("0", "5.5", "7", "19", "25.5")]),
                       st.integers(0, 10**6), min_size=1))
def test_split_over_open_rates_adds_up_to_the_cent(gross, basis):
    from core.money import net_of

    open_by_rate = tuple((rate, Amount(g, net_of(g, rate), g - net_of(g, rate)))
                         for rate, g in sorted(basis.items()))
    parts = take(open_by_rate, gross)
    taken = sum(a.gross for _, a in parts)
    assert taken == min(gross, sum(basis.values()))
    assert sum(a.net + a.tax for _, a in parts) == taken


@given(st.integers(0, 10**8), st.integers(1, 500), st.data())
def test_cumulative_shares_add_up_to_the_line_total(total, quantity, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, quantity), max_size=10)))
    points = [0, *cuts, quantity]
    pieces = [share(total, b, quantity) - share(total, a, quantity)
              for a, b in pairwise(points)]
    assert sum(pieces) == total and all(p >= 0 for p in pieces)


def test_amount_must_add_up():
    with pytest.raises(ValueError):
        Amount(100, 80, 19)
