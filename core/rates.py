"""Amounts per tax rate and the value of units: what a reduction takes from each rate of a
pot, what the shop's order lost per rate between two snapshots, what units of a line are
worth. Pure functions for :mod:`core.reconcile`."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from core.money import Amount, allocate, net_of, share
from core.operations import OperationLine, RateAmounts, rates_of_lines, total_of
from core.snapshot import Line, LineKind, OrderSnapshot
from core.state import OrderState

__all__ = ["line_value", "room", "shop_change", "take", "units_value", "weights_of"]


def take(open_by_rate: RateAmounts, gross: int,
         weights: Mapping[Decimal, int] | None = None,
         exact: RateAmounts | None = None) -> RateAmounts:
    """Split ``gross`` over the open amounts per tax rate, never taking more than a rate has.

    ``exact`` amounts per rate (the shop's own figures) are taken as they are when they add
    up to ``gross`` and each rate holds them; otherwise they are the weights. Shares follow
    ``weights`` (default: the open gross per rate) by largest remainder; what a rate cannot
    hold goes to the others. A rate taken whole gives exactly its open net and tax;
    otherwise net is ``gross / (1 + rate)`` rounded once, kept within what is open.
    """
    open_rates = {rate: amount for rate, amount in open_by_rate if amount.gross > 0}
    if exact:
        if total_of(exact).gross == gross and all(
                rate in open_rates and open_rates[rate].gross >= a.gross
                and open_rates[rate].net >= a.net and open_rates[rate].tax >= a.tax
                for rate, a in exact):
            return tuple(sorted(exact))
        weights = {rate: a.gross for rate, a in exact}
    rates = sorted(open_rates)
    if not rates or gross <= 0:
        return ()
    gross = min(gross, sum(open_rates[r].gross for r in rates))
    basis = weights or {r: open_rates[r].gross for r in rates}
    parts = allocate(gross, [max(basis.get(r, 0), 0) for r in rates])
    if sum(max(basis.get(r, 0), 0) for r in rates) == 0:
        parts = allocate(gross, [open_rates[r].gross for r in rates])
    while True:
        room = [open_rates[r].gross - part for r, part in zip(rates, parts, strict=True)]
        excess = sum(-x for x in room if x < 0)
        if excess == 0:
            break
        parts = [min(part, open_rates[r].gross) for r, part in zip(rates, parts, strict=True)]
        extra = allocate(excess, [max(x, 0) for x in room])
        parts = [part + add for part, add in zip(parts, extra, strict=True)]
    taken = []
    for rate, part in zip(rates, parts, strict=True):
        if part == 0:
            continue
        have = open_rates[rate]
        if part == have.gross:
            taken.append((rate, have))
            continue
        net = max(part - have.tax, min(net_of(part, rate), have.net))
        taken.append((rate, Amount(part, net, part - net)))
    return tuple(taken)


def shop_change(s: OrderSnapshot, state: OrderState) -> RateAmounts | None:
    """What the shop's order lost per tax rate since the last snapshot processed: the
    difference of its lines' net and tax, as the shop gave them. ``None`` when there is no
    earlier snapshot, or some rate gained (not a plain reduction)."""
    if not state.seen_by_rate:
        return None
    now = dict(rates_of_lines((line.tax_rate, Amount(line.gross, line.net, line.tax))
                              for line in s.lines))
    seen = dict(state.seen_by_rate)
    change = []
    for rate in sorted(set(seen) | set(now)):
        lost = seen.get(rate, Amount.zero()) - now.get(rate, Amount.zero())
        if lost.gross < 0 or lost.net < 0 or lost.tax < 0:
            return None
        if lost != Amount.zero():
            change.append((rate, lost))
    return tuple(change)


def room(by_rate: RateAmounts) -> int:
    """What :func:`take` can take out of a pot: the gross of its rates with something open."""
    return sum(amount.gross for _, amount in by_rate if amount.gross > 0)


def weights_of(s: OrderSnapshot, lines: tuple[OperationLine, ...]) -> dict[Decimal, int]:
    """The value of ``lines`` per tax rate."""
    rates = {line.line_id: line.tax_rate for line in s.lines}
    weights: dict[Decimal, int] = {}
    for ol in lines:
        if ol.line_id in rates:
            weights[rates[ol.line_id]] = weights.get(rates[ol.line_id], 0) + ol.amount
    return weights


def line_value(s: OrderSnapshot, state: OrderState, line_id: str,
                quantity: int) -> OperationLine:
    """Gross value of ``quantity`` more units of a line, after the units the ledger already
    took back; counted cumulatively so all units together are worth the line total."""
    line = next(li for li in s.lines if li.line_id == line_id)
    known = state.lines.get(line_id)
    before = 0
    if known is not None:  # units taken back, less those an edit removed from the line
        before = known.cancelled + known.returned - max(known.ordered - line.quantity, 0)
    before = min(max(before, 0), line.quantity)
    units = min(quantity, line.quantity - before)
    return OperationLine(line_id, units, units_value(line, before, units),
                         article=line.kind is LineKind.PRODUCT)


def units_value(line: Line, before: int, units: int) -> int:
    """The share of the line total of ``units`` units counted on from ``before``."""
    if line.quantity <= 0:
        return 0
    start = min(max(before, 0), line.quantity)
    end = min(start + units, line.quantity)
    return share(line.gross, end, line.quantity) - share(line.gross, start, line.quantity)
