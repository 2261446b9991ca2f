"""What an increase of an order passes on: the rise of its total per tax rate, to the cent,
and the units added per line (for :mod:`core.reconcile`); and what a provider's decline of
one leaves (for :mod:`core.execute`). Pure functions."""

from __future__ import annotations

from collections.abc import Iterable

from core.context import OrderContext
from core.ledger.models import OperationRecord
from core.money import Amount, allocate, net_of, to_decimal
from core.operations import (
    Operation,
    OperationKind,
    OperationLine,
    RateAmounts,
    Refusal,
    idempotency_key,
    rates_of_lines,
    total_of,
)
from core.rates import units_value
from core.snapshot import Line, LineKind, OrderSnapshot
from core.state import OrderState

__all__ = ["declined_increases", "declined_refusal", "increase"]


def increase(s: OrderSnapshot, state: OrderState,
             declined: frozenset[str]) -> Operation | None:
    """Raise the part not yet invoiced by what the order total rose (``increase:<total>``),
    unless the provider declined that before (its source in ``declined``). A rise within
    the shop's rounding (a cent per line) moves nothing unless a discount was reduced."""
    rise = s.total - state.total_seen
    if rise <= 0 or (state.discount_seen <= s.discount_total and rise <= len(s.lines)):
        return None
    source = f"increase:{s.total}"
    if source in declined:
        return None
    by_rate, lines = _parts(s, state, rise)
    amount = total_of(by_rate)
    return Operation(kind=OperationKind.INCREASE, amount=amount, by_rate=by_rate,
                     source=source, lines=lines, after_activation=False,
                     idempotency_key=idempotency_key(s.shop, s.order_id,
                                                     OperationKind.INCREASE, source,
                                                     amount.gross),
                     order_total_after=s.total, discount_total_after=s.discount_total)


def _parts(s: OrderSnapshot, state: OrderState,
                   rise: int) -> tuple[RateAmounts, tuple[OperationLine, ...]]:
    """``rise`` per tax rate: what the shop's lines gained per rate when that is the rise
    to the cent, else the rise split by those gains; and the units each line gained."""
    gained = _shop_gain(s, state)
    by_rate = gained if total_of(gained).gross == rise else _split(rise, gained, s)
    lines = tuple(OperationLine(line.line_id, added,
                                units_value(line, line.quantity - added, added),
                                article=line.kind is LineKind.PRODUCT)
                  for line in s.lines if (added := _added_units(line, state)) > 0)
    return by_rate, lines


def _shop_gain(s: OrderSnapshot, state: OrderState) -> RateAmounts:
    """What the shop's lines gained per tax rate since the last snapshot processed (the
    rates that gained; as the shop gave net and tax)."""
    now = dict(rates_of_lines((line.tax_rate, Amount(line.gross, line.net, line.tax))
                              for line in s.lines))
    seen = dict(state.seen_by_rate)
    gain = ((rate, now[rate] - seen.get(rate, Amount.zero())) for rate in sorted(now))
    return tuple((rate, a) for rate, a in gain if a.gross > 0 and a.net >= 0 and a.tax >= 0)


def _split(gross: int, weights: RateAmounts, s: OrderSnapshot) -> RateAmounts:
    """``gross`` over tax rates by ``weights`` (default: the order's lines per rate) by
    largest remainder, net rounded once per rate."""
    basis = {rate: a.gross for rate, a in weights} or {
        rate: a.gross for rate, a in rates_of_lines(
            (line.tax_rate, Amount(line.gross, line.net, line.tax)) for line in s.lines)
        if a.gross > 0}
    rates = sorted(basis)
    if not rates:
        return ()
    parts = allocate(gross, [basis[rate] for rate in rates])
    return tuple((rate, Amount(part, net_of(part, rate), part - net_of(part, rate)))
                 for rate, part in zip(rates, parts, strict=True) if part)


def _added_units(line: Line, state: OrderState) -> int:
    """Units of a line beyond those the ledger knows the buyer keeps."""
    known = state.lines.get(line.line_id)
    return line.quantity - (known.remaining if known is not None else 0)


def declined_increases(records: Iterable[OperationRecord]) -> frozenset[str]:
    """The sources of an order's increases its provider declined (among its operation
    ``records``): not asked for again."""
    return frozenset(record.source for record in records
                     if record.status == "succeeded" and "declined" in (record.marks or {}))


def declined_refusal(context: OrderContext, op: Operation, reason: str | None) -> Refusal:
    """The refusal the merchant sees when the provider declined an increase."""
    currency = context.snapshot.currency
    total = to_decimal(op.order_total_after or 0, currency)
    return Refusal(
        "increase", op.amount.gross,
        f"{context.provider} declined raising the order by "
        f"{to_decimal(op.amount.gross, currency)} {currency} to {total} {currency}"
        f" ({reason or 'declined'}); the order stays as it was: create a new order for "
        "the extra items")
