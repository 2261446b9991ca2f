"""The ledger's view of one order as a plain value, and how an operation changes it.

:func:`apply` is pure: the executor calls it after a provider confirmed an operation and
stores the result; reconciliation calls it to plan several operations in a row; property
tests fold random histories through it without a database.

An open order's amount lies in two pots, each kept per tax rate: the part authorised but not
yet invoiced (``unbilled_by_rate``) and the part invoiced and not yet credited (the rest of
``open_by_rate``). An activation moves an amount from the first to the second; a reduction
takes from the pot its ``after_activation`` names (a credit note against an invoice, or a
lowering of the authorisation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from core.money import Amount
from core.operations import Operation, OperationKind, OperationLine, RateAmounts

__all__ = ["LineState", "OrderState", "Status", "apply", "decline", "mark_seen"]


class Status(StrEnum):
    """Where an order stands; the rank never goes down (invariant I4).

    An order is ``active`` from its first activation on, even while part of it is not yet
    invoiced; it ends ``credited`` once nothing is open if anything was ever activated, else
    ``voided``.
    """

    NEW = "new"
    AUTHORISED = "authorised"
    ACTIVE = "active"
    VOIDED = "voided"
    CREDITED = "credited"
    DECLINED = "declined"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_open(self) -> bool:
        return self in (Status.AUTHORISED, Status.ACTIVE)


_RANK = {Status.NEW: 0, Status.AUTHORISED: 1, Status.ACTIVE: 2,
         Status.VOIDED: 3, Status.CREDITED: 3, Status.DECLINED: 3}


@dataclass(frozen=True, slots=True)
class LineState:
    """Per-line quantities: ordered, and how many were activated, cancelled, returned.

    Cancelled units were never activated; returned units were.
    """

    ordered: int
    activated: int = 0
    cancelled: int = 0
    returned: int = 0
    article: bool = True

    @property
    def remaining(self) -> int:
        """Units the buyer still keeps, invoiced or not."""
        return self.ordered - self.cancelled - self.returned

    @property
    def unbilled(self) -> int:
        """Units authorised but not yet activated (invoiced)."""
        return self.ordered - self.cancelled - self.activated

    @property
    def invoiced(self) -> int:
        """Units activated and not returned."""
        return self.activated - self.returned


@dataclass(frozen=True, slots=True)
class OrderState:
    """Amounts in minor units.

    ``activated`` is the sum of all activations; ``reduced`` counts reductions of the part not
    yet invoiced, ``credited`` credit notes against invoices. ``open_by_rate`` is everything
    still open per tax rate and ``unbilled_by_rate`` the part of it not yet invoiced (net and
    tax exact, so a full credit takes precisely what is left); for every rate
    0 ≤ unbilled ≤ open in gross, net and tax. ``total_seen`` and ``discount_seen`` are the
    shop's order total and discount total as far as the provider has been told.
    ``refund_ids`` holds the refunds passed on, and a mark for a refund whose invoiced part is
    passed on while its part not yet invoiced is still to come (see
    :mod:`core.reconcile`). ``seen_by_rate`` is the shop's order per tax rate in the last
    snapshot processed, its lines' net and tax as the shop gave them: what an edit or a
    discount changed per rate is the difference to the next snapshot's.
    """

    status: Status = Status.NEW
    authorised: int = 0
    reduced: int = 0
    activated: int = 0
    credited: int = 0
    total_seen: int = 0
    discount_seen: int = 0
    refund_ids: frozenset[str] = frozenset()
    lines: Mapping[str, LineState] = field(default_factory=lambda: MappingProxyType({}))
    open_by_rate: RateAmounts = ()
    unbilled_by_rate: RateAmounts = ()
    ordering_key: datetime | None = None
    decline_reason: str | None = None
    seen_by_rate: RateAmounts = ()

    @property
    def unbilled(self) -> int:
        """Gross authorised but not yet activated (invoiced)."""
        return sum(amount.gross for _, amount in self.unbilled_by_rate)

    @property
    def invoiced_by_rate(self) -> RateAmounts:
        """The invoiced part of the open amount, per tax rate (open less unbilled)."""
        return _minus(self.open_by_rate, self.unbilled_by_rate)

    @property
    def open_amount(self) -> int:
        """What the provider can still reduce: invoiced and not credited, plus not yet
        invoiced."""
        if not self.status.is_open:
            return 0
        return self.activated - self.credited + self.unbilled


def _minus(by_rate: RateAmounts, taken: RateAmounts) -> RateAmounts:
    """``by_rate`` less ``taken`` per rate; rates with nothing left at all are dropped."""
    remaining = dict(by_rate)
    for rate, amount in taken:
        left = remaining.get(rate, Amount.zero())
        remaining[rate] = left - amount
    return tuple(sorted((rate, a) for rate, a in remaining.items() if a != Amount.zero()))


def apply(state: OrderState, op: Operation) -> OrderState:
    """The state after ``op`` succeeded at the provider."""
    if op.kind is OperationKind.PLACEMENT:
        by_rate = tuple(sorted(op.by_rate))
        return replace(
            state, status=Status.AUTHORISED, authorised=op.amount.gross,
            total_seen=(op.order_total_after if op.order_total_after is not None
                        else op.amount.gross),
            discount_seen=op.discount_total_after or 0,
            lines=MappingProxyType({ol.line_id: LineState(ordered=ol.quantity, article=ol.article)
                                    for ol in op.lines}),
            open_by_rate=by_rate, unbilled_by_rate=by_rate,
        )
    if op.kind is OperationKind.INCREASE:
        return _increase(state, op)
    if op.kind is OperationKind.ACTIVATION:
        return replace(state, status=Status.ACTIVE, activated=state.activated + op.amount.gross,
                       unbilled_by_rate=_minus(state.unbilled_by_rate, op.by_rate),
                       lines=_activate_lines(state.lines, op.lines))
    return _reduce(state, op)


def _increase(state: OrderState, op: Operation) -> OrderState:
    """The part not yet invoiced raised by ``op`` (items added): authorised, open and
    unbilled grow per tax rate, the lines by the units added."""
    lines = dict(state.lines)
    for ol in op.lines:
        known = lines.get(ol.line_id)
        lines[ol.line_id] = LineState(ordered=ol.quantity, article=ol.article) if known is None \
            else replace(known, ordered=known.ordered + ol.quantity)
    return replace(
        state, authorised=state.authorised + op.amount.gross,
        open_by_rate=_minus(state.open_by_rate, _negated(op.by_rate)),
        unbilled_by_rate=_minus(state.unbilled_by_rate, _negated(op.by_rate)),
        total_seen=op.order_total_after if op.order_total_after is not None
        else state.total_seen + op.amount.gross,
        discount_seen=op.discount_total_after if op.discount_total_after is not None
        else state.discount_seen,
        lines=MappingProxyType(lines))


def _negated(by_rate: RateAmounts) -> RateAmounts:
    return tuple((rate, Amount.zero() - amount) for rate, amount in by_rate)


def _activate_lines(lines: Mapping[str, LineState],
                    activated: tuple[OperationLine, ...]) -> Mapping[str, LineState]:
    """Lines after an activation of ``activated`` units; without lines, of all not invoiced."""
    if not activated:
        return MappingProxyType({k: replace(v, activated=v.ordered - v.cancelled)
                                 for k, v in lines.items()})
    new = dict(lines)
    for ol in activated:
        current = new.get(ol.line_id)
        if current is not None:
            units = min(ol.quantity, current.unbilled)
            new[ol.line_id] = replace(current, activated=current.activated + units)
    return MappingProxyType(new)


def _reduce(state: OrderState, op: Operation) -> OrderState:
    """A full or partial credit, discount transfer or return, from the pot the operation
    names: the invoices (``after_activation``) or the part not yet invoiced."""
    gross = op.amount.gross
    invoiced = op.after_activation
    new = replace(
        state, lines=_reduce_lines(state.lines, op),
        credited=state.credited + gross if invoiced else state.credited,
        reduced=state.reduced if invoiced else state.reduced + gross,
        refund_ids=state.refund_ids | {op.refund_id} if op.refund_id else state.refund_ids,
        discount_seen=(op.discount_total_after if op.discount_total_after is not None
                       else state.discount_seen),
        total_seen=op.order_total_after if op.order_total_after is not None else state.total_seen,
        open_by_rate=_minus(state.open_by_rate, op.by_rate),
        unbilled_by_rate=(state.unbilled_by_rate if invoiced
                          else _minus(state.unbilled_by_rate, op.by_rate)),
    )
    if new.open_amount == 0:
        new = replace(new, status=Status.CREDITED if new.activated else Status.VOIDED)
    return new


def _reduce_lines(lines: Mapping[str, LineState], op: Operation) -> Mapping[str, LineState]:
    """Units an operation takes back: returned from the invoices, or cancelled before."""
    invoiced = op.after_activation
    if op.kind is OperationKind.FULL_CREDIT and not op.lines:
        return MappingProxyType({
            k: replace(v, returned=v.activated) if invoiced
            else replace(v, cancelled=v.cancelled + v.unbilled)
            for k, v in lines.items()})
    new = dict(lines)
    for ol in op.lines:
        current = new.get(ol.line_id)
        if current is None:
            continue
        if invoiced:
            units = min(ol.quantity, current.invoiced)
            new[ol.line_id] = replace(current, returned=current.returned + units)
        else:
            units = min(ol.quantity, current.unbilled)
            new[ol.line_id] = replace(current, cancelled=current.cancelled + units)
    return MappingProxyType(new)


def decline(state: OrderState, reason: str) -> OrderState:
    """The state after the provider declined the placement."""
    return replace(state, status=Status.DECLINED, decline_reason=reason)


def mark_seen(state: OrderState, ordering_key: datetime) -> OrderState:
    """Remember the newest snapshot processed, so older ones are recognised as stale."""
    if state.ordering_key is not None and state.ordering_key >= ordering_key:
        return state
    return replace(state, ordering_key=ordering_key)
