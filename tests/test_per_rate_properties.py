"""The shop's per-rate figures are the truth (issue 22): over random carts (several rates,
shipping, fees, negative ones too) and random edits in any order — coupons on lines,
quantities lowered, negative fees added, shipping lowered, activation at any point, then
refunds of units, of part of a line's price and of the shipping alone, each with the tax
the shop computed — what the provider holds per tax rate (invoiced less credited, plus not
yet invoiced) equals the shop's current order less its refunds per rate, net and tax, to the
cent, after every snapshot.

Folded as the executor does: ``reconcile`` then ``apply``; after each snapshot the ledger
keeps it as the last one seen (``seen_by_rate``), as ``Ledger.save_state`` stores it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import Amount, net_of, share
from core.operations import rates_of_lines
from core.reconcile import Rules, reconcile
from core.snapshot import Discount, Line, LineKind, OrderSnapshot, Refund, RefundLine
from core.state import OrderState, apply
from test_reconcile_properties import BUYER, carts, make_line

RULES = Rules.from_mapping({"completed": "activate", "cancelled": "cancel"})
T0 = datetime(2026, 1, 1, tzinfo=UTC)

EDITS = st.lists(st.one_of(
    st.just(("complete",)),
    st.tuples(st.just("refund_units"), st.integers(0, 5), st.integers(1, 6)),
    st.tuples(st.just("refund_part"), st.integers(0, 5), st.integers(1, 10_000)),
    st.just(("refund_shipping",)),
    st.tuples(st.just("coupon"), st.integers(0, 5), st.integers(1, 20_000)),
    st.tuples(st.just("fewer"), st.integers(0, 5), st.integers(1, 6)),
    st.tuples(st.just("negative_fee"), st.integers(1, 50_00), st.integers(0, 5)),
    st.tuples(st.just("cheaper_shipping"), st.integers(1, 30_00)),
), max_size=8)


def per_rate(lines: tuple[Line, ...] | list[Line]) -> dict[Decimal, tuple[int, int]]:
    """(net, tax) per rate of the shop's lines."""
    return {rate: (a.net, a.tax) for rate, a in rates_of_lines(
        (line.tax_rate, Amount(line.gross, line.net, line.tax)) for line in lines)}


def refund(lines: list[Line], refunds: list[Refund], event: tuple) -> bool:
    """Refund as a shop's refund form would, each line with the tax the shop computed;
    never every article (that closes the order) nor the whole total."""
    by_id = {li.line_id: li for li in lines}
    taken: dict[str, tuple[int, int, int]] = {}  # line -> units, amount, tax refunded
    for rf in refunds:
        for rl in rf.lines or ():
            u, a, t = taken.get(rl.line_id, (0, 0, 0))
            taken[rl.line_id] = (u + rl.quantity, a + rl.amount, t + (rl.tax or 0))
    products = [li for li in lines if li.kind is LineKind.PRODUCT]
    kind = event[0]
    if kind == "refund_units":
        line = products[event[1] % len(products)]
        before, _, _ = taken.get(line.line_id, (0, 0, 0))
        articles_left = sum(li.quantity - taken.get(li.line_id, (0, 0, 0))[0]
                            for li in products)
        units = min(event[2], line.quantity - before, articles_left - 1)
        if units <= 0 or taken.get(line.line_id, (0, 0, 0))[1] > share(line.gross, before,
                                                                        line.quantity):
            return False  # nothing left, or a part of its price was refunded already
        amount = share(line.gross, before + units, line.quantity) - share(
            line.gross, before, line.quantity)
        tax = share(line.tax, before + units, line.quantity) - share(
            line.tax, before, line.quantity)
        new = RefundLine(line.line_id, units, amount, tax)
    elif kind == "refund_part":
        line = products[event[1] % len(products)]
        units, amount_taken, _ = taken.get(line.line_id, (0, 0, 0))
        left = line.gross - max(amount_taken, share(line.gross, units, line.quantity))
        amount = min(event[2], left - 1)
        if amount <= 0:
            return False
        new = RefundLine(line.line_id, 0, amount, amount - net_of(amount, line.tax_rate))
    else:  # the shipping row alone
        ship = by_id.get("ship")
        if ship is None or ship.gross <= 0 or "ship" in taken:
            return False
        new = RefundLine("ship", 0, ship.gross, ship.tax)
    if new.amount <= 0 or new.tax < 0 or new.amount - new.tax < 0:
        return False
    rate = by_id[new.line_id].tax_rate
    left = per_rate([li for li in lines if li.tax_rate == rate]).get(rate, (0, 0))
    for rf in refunds:
        for rl in rf.lines or ():
            if by_id[rl.line_id].tax_rate == rate:
                left = (left[0] - (rl.amount - rl.tax), left[1] - rl.tax)
    if left[0] < new.amount - new.tax or left[1] < new.tax:
        return False  # more than the order still holds at that rate (a negative fee took it)
    total = sum(li.gross for li in lines)
    if sum(rf.amount for rf in refunds) + new.amount >= total:
        return False
    refunds.append(Refund(f"r{len(refunds)}", new.amount, (new,)))
    return True


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
    refunds: list[Refund] = []
    for version, event in enumerate([("place",), *events]):
        if event[0] == "complete":
            status = "completed"
        elif event[0].startswith("refund"):
            if not refund(lines, refunds, event):
                continue
        elif event[0] != "place" and (refunds or not edited(lines, discounts, event)):
            continue  # shops recalculate an order only before its refunds
        snapshot = OrderSnapshot(
            shop="acme", order_id="1", order_number="1", currency="EUR", buyer=BUYER,
            lines=tuple(lines), total=sum(li.gross for li in lines),
            total_tax=sum(li.tax for li in lines), status=status,
            ordering_key=T0 + timedelta(minutes=version), discounts=tuple(discounts),
            refunds=tuple(refunds))
        decision = reconcile(snapshot, state, RULES)
        assert decision.refusals == ()
        for op in decision.operations:
            state = apply(state, op)
        state = replace(state, seen_by_rate=rates_of_lines(
            (li.tax_rate, Amount(li.gross, li.net, li.tax)) for li in lines))
        held = {rate: (a.net, a.tax) for rate, a in state.open_by_rate}
        shop = per_rate(lines)
        rates = {li.line_id: li.tax_rate for li in lines}
        for rf in refunds:
            for rl in rf.lines or ():
                net, tax = shop[rates[rl.line_id]]
                shop[rates[rl.line_id]] = (net - (rl.amount - rl.tax), tax - rl.tax)
        assert held == {r: v for r, v in shop.items() if v != (0, 0)}, event
