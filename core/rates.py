"""Amounts per tax rate: what a reduction takes from each rate of a pot, and what the shop's
order lost per rate between two snapshots. Pure functions for :mod:`core.reconcile`."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from core.money import Amount, allocate, net_of
from core.operations import RateAmounts, rates_of_lines, total_of
from core.snapshot import OrderSnapshot
from core.state import OrderState

__all__ = ["room", "shop_change", "take"]


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
