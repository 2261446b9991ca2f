"""The ledger's view of one order as a plain value, and how an operation changes it.

:func:`apply` is pure: the executor calls it after a provider confirmed an operation and
stores the result; reconciliation calls it to plan several operations in a row; property
tests fold random histories through it without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from core.money import Amount
from core.operations import Operation, OperationKind, RateAmounts

__all__ = ["LineState", "OrderState", "Status", "apply", "decline", "mark_seen"]


class Status(StrEnum):
    """Where an order stands; the rank never goes down (invariant I4)."""

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
    """Per-line quantities: ordered, and how many were activated, cancelled, returned."""

    ordered: int
    activated: int = 0
    cancelled: int = 0
    returned: int = 0
    article: bool = True

    @property
    def remaining(self) -> int:
        """Units still owed by the buyer (or still authorised before activation)."""
        return self.ordered - self.cancelled - self.returned


@dataclass(frozen=True, slots=True)
class OrderState:
    """Amounts in minor units. ``reduced`` counts reductions before activation, ``credited``
    reductions after it; ``open_by_rate`` is the open amount per tax rate (net and tax exact,
    so a full credit takes precisely what is left); ``total_seen`` and ``discount_seen`` are
    the shop's order total and discount total as far as the provider has been told."""

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
    ordering_key: datetime | None = None
    decline_reason: str | None = None

    @property
    def open_amount(self) -> int:
        """What the provider can still reduce: the open authorisation or open invoice."""
        if self.status is Status.ACTIVE:
            return self.activated - self.credited
        if self.status is Status.AUTHORISED:
            return self.authorised - self.reduced
        return 0


def _minus(open_by_rate: RateAmounts, taken: RateAmounts) -> RateAmounts:
    remaining = dict(open_by_rate)
    for rate, amount in taken:
        left = remaining.get(rate, Amount.zero())
        remaining[rate] = Amount(left.gross - amount.gross, left.net - amount.net,
                                 left.tax - amount.tax)
    return tuple(sorted(remaining.items()))


def apply(state: OrderState, op: Operation) -> OrderState:
    """The state after ``op`` succeeded at the provider."""
    gross = op.amount.gross
    active = state.status is Status.ACTIVE
    lines = dict(state.lines)
    if op.kind is OperationKind.PLACEMENT:
        return replace(
            state, status=Status.AUTHORISED, authorised=gross,
            total_seen=op.order_total_after if op.order_total_after is not None else gross,
            discount_seen=op.discount_total_after or 0,
            lines=MappingProxyType({ol.line_id: LineState(ordered=ol.quantity, article=ol.article)
                                    for ol in op.lines}),
            open_by_rate=tuple(sorted(op.by_rate)),
        )
    if op.kind is OperationKind.ACTIVATION:
        lines = {k: replace(v, activated=v.ordered - v.cancelled) for k, v in lines.items()}
        return replace(state, status=Status.ACTIVE, activated=gross,
                       lines=MappingProxyType(lines))
    if op.kind is OperationKind.FULL_CREDIT:
        if active:
            lines = {k: replace(v, returned=v.activated) for k, v in lines.items()}
        else:
            lines = {k: replace(v, cancelled=v.ordered) for k, v in lines.items()}
        return replace(
            state, lines=MappingProxyType(lines),
            status=Status.CREDITED if active else Status.VOIDED,
            credited=state.credited + gross if active else state.credited,
            reduced=state.reduced if active else state.reduced + gross,
            open_by_rate=_minus(state.open_by_rate, op.by_rate),
        )
    # partial credit, discount transfer, return: a reduction of the open amount
    for ol in op.lines:
        current = lines.get(ol.line_id)
        if current is None:
            continue
        units = min(ol.quantity, current.remaining)
        if active:
            lines[ol.line_id] = replace(current, returned=current.returned + units)
        else:
            lines[ol.line_id] = replace(current, cancelled=current.cancelled + units)
    new = replace(
        state, lines=MappingProxyType(lines),
        credited=state.credited + gross if active else state.credited,
        reduced=state.reduced if active else state.reduced + gross,
        refund_ids=state.refund_ids | {op.refund_id} if op.refund_id else state.refund_ids,
        discount_seen=(op.discount_total_after if op.discount_total_after is not None
                       else state.discount_seen),
        total_seen=op.order_total_after if op.order_total_after is not None else state.total_seen,
        open_by_rate=_minus(state.open_by_rate, op.by_rate),
    )
    if new.open_amount == 0:
        new = replace(new, status=Status.CREDITED if active else Status.VOIDED)
    return new


def decline(state: OrderState, reason: str) -> OrderState:
    """The state after the provider declined the placement."""
    return replace(state, status=Status.DECLINED, decline_reason=reason)


def mark_seen(state: OrderState, ordering_key: datetime) -> OrderState:
    """Remember the newest snapshot processed, so older ones are recognised as stale."""
    if state.ordering_key is not None and state.ordering_key >= ordering_key:
        return state
    return replace(state, ordering_key=ordering_key)
