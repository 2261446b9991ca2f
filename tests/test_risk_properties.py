"""Properties of the risk engine's money: EUR conversion at the boundaries, limit growth."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from core.risk.limits import grown_limit, shrunk_limit
from core.risk.policy import RiskPolicy, to_eur

rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000), places=4)
amounts = st.integers(min_value=1, max_value=10**12)


@given(amounts, rates)
def test_conversion_is_exact_where_it_decides(amount, rate):
    """Compared with a boundary, the converted amount gives the answer exact fractions
    give: a cart is never let in or kept out by rounding."""
    policy = RiskPolicy(eur_rates={"SEK": rate})
    converted = to_eur(amount, "SEK", policy)
    exact = Fraction(amount) / Fraction(rate)
    for boundary in (5_000, 1_999_900):
        assert (converted < boundary) == (exact < boundary)
        assert (converted > boundary) == (exact > boundary)


@given(amounts, rates)
def test_the_boundary_amount_itself_is_allowed(amount, rate):
    policy = RiskPolicy(eur_rates={"SEK": rate})
    boundary = Decimal(amount) * rate  # SEK cents that are exactly ``amount`` EUR cents
    if boundary == boundary.to_integral_value():
        assert to_eur(int(boundary), "SEK", policy) == amount


@given(st.integers(min_value=1, max_value=10**10), st.integers(0, 1000), st.integers(0, 100),
       st.integers(min_value=1, max_value=10**10))
def test_limits_grow_and_shrink_to_the_cent_within_the_cap(limit, grow, shrink, cap):
    policy = RiskPolicy(initial_limit=1, grow_percent=Decimal(grow),
                        shrink_percent=Decimal(shrink), limit_cap=cap)
    grown = grown_limit(limit, policy)
    assert grown == max(limit, min(cap, limit * (100 + grow) // 100))
    assert shrunk_limit(limit, policy) == limit * (100 - shrink) // 100
