"""The shop's per-rate figures are the truth (issue 22): over random carts (several rates,
shipping, fees, negative ones too) and random edits in any order — coupons on lines,
quantities lowered, negative fees added, shipping lowered, activation at any point — what
the provider holds per tax rate (invoiced less credited, plus not yet invoiced) equals the
shop's current order per rate, net and tax, to the cent, after every snapshot.

Folded as the executor does: ``reconcile`` then ``apply``; after each snapshot the ledger
keeps it as the last one seen (``seen_by_rate``), as ``Ledger.save_state`` stores it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import Amount, share
from core.operations import rates_of_lines
from core.reconcile import Rules, reconcile
from core.snapshot import Discount, Line, LineKind, OrderSnapshot
from core.state import OrderState, apply
from test_reconcile_properties import BUYER, carts, make_line

RULES = Rules.from_mapping({"completed": "activate", "cancelled": "cancel"})
T0 = datetime(2026, 1, 1, tzinfo=UTC)

EDITS = st.lists(st.one_of(
    st.just(("complete",)),
    st.tuples(st.just("coupon"), st.integers(0, 5), st.integers(1, 20_000)),
    st.tuples(st.just("fewer"), st.integers(0, 5), st.integers(1, 6)),
    st.tuples(st.just("negative_fee"), st.integers(1, 50_00), st.integers(0, 5)),
    st.tuples(st.just("cheaper_shipping"), st.integers(1, 30_00)),
), max_size=8)


def per_rate(lines: tuple[Line, ...] | list[Line]) -> dict[Decimal, tuple[int, int]]:
    """(net, tax) per rate of the shop's lines."""
    return {rate: (a.net, a.tax) for rate, a in rates_of_lines(
        (line.tax_rate, Amount(line.gross, line.net, line.tax)) for line in lines)}


def edit(lines: list[Line], discounts: list[Discount], event: tuple) -> bool:
    """Change the order as a shop's order screen would; ``False`` if it cannot happen."""
    kind = event[0]
    products = [n for n, li in enumerate(lines) if li.kind is LineKind.PRODUCT]
    if kind == "coupon":  # a coupon on one line: its total less, the discount more
        n = products[event[1] % len(products)]
        amount = min(event[2], lines[n].gross - 1)
        if amount <= 0:
            return False
        lines[n] = make_line(lines[n].line_id, lines[n].kind, lines[n].quantity,
                             lines[n].gross - amount, lines[n].tax_rate)
        discounts.append(Discount(f"c{len(discounts)}", amount))
    elif kind == "fewer":  # a quantity lowered: the line keeps the price of the rest
        n = products[event[1] % len(products)]
        line = lines[n]
        left = line.quantity - min(event[2], line.quantity - 1)
        gross = share(line.gross, left, line.quantity)
        if left == line.quantity or gross == line.gross:  # units worth nothing: no edit
            return False
        lines[n] = make_line(line.line_id, line.kind, left, gross, line.tax_rate)
    elif kind == "negative_fee":  # WooCommerce taxes it at the rates of the order's lines
        rate = lines[products[event[2] % len(products)]].tax_rate
        room = sum(li.gross for li in lines if li.tax_rate == rate)
        amount = min(event[1], room - 1)
        if amount <= 0:
            return False
        lines.append(make_line(f"fee{len(lines)}", LineKind.FEE, 1, -amount, rate))
    elif kind == "cheaper_shipping":
        found = [n for n, li in enumerate(lines) if li.kind is LineKind.SHIPPING]
        if not found or lines[found[0]].gross <= 0:
            return False
        line = lines[found[0]]
        lines[found[0]] = make_line(line.line_id, line.kind, 1,
                                    line.gross - min(event[1], line.gross), line.tax_rate)
    return True


def edited(lines: list[Line], discounts: list[Discount], event: tuple) -> bool:
    """:func:`edit`, kept only if the order still asks something and no rate's net or tax
    went below zero (a shop's order never shows that)."""
    before, coupons = list(lines), list(discounts)
    if edit(lines, discounts, event) and all(
            amount.net >= 0 and amount.tax >= 0 for _, amount in rates_of_lines(
                (li.tax_rate, Amount(li.gross, li.net, li.tax)) for li in lines)) \
            and sum(li.gross for li in lines) > 0:
        return True
    lines[:], discounts[:] = before, coupons
    return False


@settings(max_examples=300, deadline=None)
@given(cart=carts(), events=EDITS)
def test_the_provider_holds_per_rate_what_the_shop_shows(cart, events):
    lines, discounts, status, state = list(cart), [], "processing", OrderState()
    for version, event in enumerate([("place",), *events]):
        if event[0] == "complete":
            status = "completed"
        elif event[0] != "place" and not edited(lines, discounts, event):
            continue
        snapshot = OrderSnapshot(
            shop="acme", order_id="1", order_number="1", currency="EUR", buyer=BUYER,
            lines=tuple(lines), total=sum(li.gross for li in lines),
            total_tax=sum(li.tax for li in lines), status=status,
            ordering_key=T0 + timedelta(minutes=version), discounts=tuple(discounts))
        decision = reconcile(snapshot, state, RULES)
        assert decision.refusals == ()
        for op in decision.operations:
            state = apply(state, op)
        state = replace(state, seen_by_rate=rates_of_lines(
            (li.tax_rate, Amount(li.gross, li.net, li.tax)) for li in lines))
        held = {rate: (a.net, a.tax) for rate, a in state.open_by_rate}
        assert held == {r: v for r, v in per_rate(lines).items() if v != (0, 0)}, event
