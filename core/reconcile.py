"""Where operations are decided: compare a snapshot with the ledger state, list what to do.

:func:`reconcile` is pure. The rules (design §2):

* the first snapshot of an order places it (authorisation); activation happens only when the
  shop status is mapped to ``activate`` by the connection, never on placement by itself;
* a cancel before activation voids the authorisation, after activation it credits the open
  amount; refunds reaching the total, a fully returned order, or no articles left credit
  fully, shipping included;
* a discount that grew by X transfers X; a total that shrank beyond that (an order edit)
  credits the difference; an increase is refused and reported, never applied;
* every refund not seen before credits its amount: by lines when the shop names them (a
  return after activation, a partial cancellation before it), otherwise as an amount;
  returned lines are credited at least at their value, so return shipping is never charged;
* nothing is ever credited above the open amount (I3), and a snapshot older than the last one
  processed, or one seen already, yields nothing (I2, I4);
* every amount is split over tax rates from what is still open per rate, so credit notes add
  up to the invoice in net and tax as well as gross.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from core.money import Amount, allocate, net_of, share, to_decimal
from core.operations import (
    Decision,
    Operation,
    OperationKind,
    OperationLine,
    RateAmounts,
    Refusal,
    idempotency_key,
)
from core.snapshot import LineKind, OrderSnapshot, Refund
from core.state import OrderState, Status, apply

__all__ = ["Rules", "Trigger", "reconcile", "take"]


class Trigger(StrEnum):
    """What a shop status means for the provider."""

    ACTIVATE = "activate"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Rules:
    """A shop connection's status mapping: shop status word → trigger."""

    status_map: Mapping[str, Trigger] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> Rules:
        return cls({status: Trigger(trigger) for status, trigger in mapping.items()})

    def trigger(self, status: str) -> Trigger | None:
        return self.status_map.get(status)


def take(open_by_rate: RateAmounts, gross: int,
         weights: Mapping[Decimal, int] | None = None) -> RateAmounts:
    """Split ``gross`` over the open amounts per tax rate, never taking more than a rate has.

    Shares follow ``weights`` (default: the open gross per rate) by largest remainder; what a
    rate cannot hold goes to the others. A rate taken whole gives exactly its open net and
    tax; otherwise net is ``gross / (1 + rate)`` rounded once, kept within what is open.
    """
    open_rates = {rate: amount for rate, amount in open_by_rate if amount.gross > 0}
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


def _sum(by_rate: RateAmounts) -> Amount:
    total = Amount.zero()
    for _, amount in by_rate:
        total = total + amount
    return total


class _Plan:
    """Operations decided so far, with the state they lead to."""

    def __init__(self, snapshot: OrderSnapshot, state: OrderState) -> None:
        self.snapshot = snapshot
        self.state = state
        self.operations: list[Operation] = []
        self.refusals: list[Refusal] = []

    def emit(self, kind: OperationKind, by_rate: RateAmounts, source: str, *,
             lines: tuple[OperationLine, ...] = (), refund_id: str | None = None,
             discount_total_after: int | None = None,
             order_total_after: int | None = None) -> None:
        by_rate = tuple((rate, a) for rate, a in by_rate if (a.gross, a.net, a.tax) != (0, 0, 0))
        amount = _sum(by_rate)
        if amount.gross <= 0 and kind is not OperationKind.PLACEMENT:
            return
        s = self.snapshot
        op = Operation(
            kind=kind, amount=amount, by_rate=by_rate, source=source, lines=lines,
            after_activation=self.state.status is Status.ACTIVE,
            idempotency_key=idempotency_key(s.shop, s.order_id, source),
            refund_id=refund_id, discount_total_after=discount_total_after,
            order_total_after=order_total_after,
        )
        self.operations.append(op)
        self.state = apply(self.state, op)

    def refuse(self, reason: str, amount: int, message: str) -> None:
        self.refusals.append(Refusal(reason=reason, amount=amount, message=message))

    def take(self, gross: int, weights: Mapping[Decimal, int] | None = None) -> RateAmounts:
        """Up to ``gross`` out of the open amount, split over the open tax rates."""
        return take(self.state.open_by_rate, gross, weights)


def reconcile(snapshot: OrderSnapshot, state: OrderState | None, rules: Rules) -> Decision:
    """Decide the operations that bring the provider in line with ``snapshot``."""
    state = state or OrderState()
    if state.ordering_key is not None and snapshot.ordering_key < state.ordering_key:
        return Decision(stale=True)
    plan = _Plan(snapshot, state)
    if state.status is Status.NEW:
        _place(plan)
    if not plan.state.status.is_open:
        return Decision(tuple(plan.operations), tuple(plan.refusals))

    trigger = rules.trigger(snapshot.status)
    if _closes(plan, trigger):
        plan.emit(OperationKind.FULL_CREDIT, plan.state.open_by_rate, "full_credit")
        return Decision(tuple(plan.operations), tuple(plan.refusals))

    _refuse_increase(plan)
    _transfer_discount(plan)
    _credit_edits(plan)
    if trigger is Trigger.ACTIVATE and plan.state.status is Status.AUTHORISED:
        plan.emit(OperationKind.ACTIVATION, plan.state.open_by_rate, "activation")
    for refund in snapshot.refunds:
        if refund.refund_id not in plan.state.refund_ids and plan.state.status.is_open:
            _credit_refund(plan, refund)
    return Decision(tuple(plan.operations), tuple(plan.refusals))


def _closes(plan: _Plan, trigger: Trigger | None) -> bool:
    snapshot = plan.snapshot
    return (
        snapshot.cancelled
        or trigger is Trigger.CANCEL
        or snapshot.returned
        or snapshot.refund_total >= snapshot.total
        or _articles_left(plan) == 0
    )


def _articles_left(plan: _Plan) -> int | None:
    """Article units the buyer still keeps: ordered articles still in the snapshot, less the
    units its refunds name; ``None`` for an order that never had articles."""
    articles = [line_id for line_id, ls in plan.state.lines.items() if ls.article]
    if not articles:
        return None
    present = {line.line_id: line.quantity for line in plan.snapshot.lines}
    refunded: dict[str, int] = {}
    for refund in plan.snapshot.refunds:
        for rl in refund.lines or ():
            refunded[rl.line_id] = refunded.get(rl.line_id, 0) + rl.quantity
    return sum(max(present.get(i, 0) - refunded.get(i, 0), 0) for i in articles)


def _place(plan: _Plan) -> None:
    """Authorise the total, split per tax rate as the lines are, rounding put on the largest."""
    s = plan.snapshot
    by_rate: dict[Decimal, Amount] = {}
    for line in s.lines:
        by_rate[line.tax_rate] = by_rate.get(line.tax_rate, Amount.zero()) + Amount(
            line.gross, line.net, line.tax)
    largest = max(by_rate, key=lambda rate: (by_rate[rate].gross, rate))
    fix_gross = s.total - sum(a.gross for a in by_rate.values())
    fix_tax = s.total_tax - sum(a.tax for a in by_rate.values())
    bucket = by_rate[largest]
    by_rate[largest] = Amount(bucket.gross + fix_gross, bucket.net + fix_gross - fix_tax,
                              bucket.tax + fix_tax)
    plan.emit(
        OperationKind.PLACEMENT, tuple(sorted(by_rate.items())), "placement",
        lines=tuple(OperationLine(li.line_id, li.quantity, li.gross,
                                  article=li.kind is LineKind.PRODUCT) for li in s.lines),
        order_total_after=s.total,
        discount_total_after=s.discount_total,
    )


def _refuse_increase(plan: _Plan) -> None:
    s, seen = plan.snapshot, plan.state.total_seen
    if s.total > seen:
        plan.refuse("increase", s.total - seen,
                    f"the order total rose from {to_decimal(seen, s.currency)} to "
                    f"{to_decimal(s.total, s.currency)} {s.currency}; increases of an existing "
                    "order or invoice are refused: create a new order for the extra items")
    if s.discount_total < plan.state.discount_seen:
        plan.refuse("discount_decrease", plan.state.discount_seen - s.discount_total,
                    "a discount was reduced; increases of an existing order or invoice are "
                    "refused")


def _transfer_discount(plan: _Plan) -> None:
    grown = plan.snapshot.discount_total - plan.state.discount_seen
    if grown <= 0:
        return
    target = plan.snapshot.discount_total
    plan.emit(OperationKind.DISCOUNT_TRANSFER, plan.take(grown), f"discount:{target}",
              discount_total_after=target, order_total_after=plan.state.total_seen - grown)


def _credit_edits(plan: _Plan) -> None:
    """A total that fell without a refund or discount: lines were removed or reduced."""
    shrink = plan.state.total_seen - plan.snapshot.total
    if shrink <= 0:
        return
    present = {line.line_id: line.quantity for line in plan.snapshot.lines}
    lines = tuple(
        OperationLine(line_id, known.remaining - present.get(line_id, 0), 0, known.article)
        for line_id, known in plan.state.lines.items()
        if present.get(line_id, 0) < known.remaining
    )
    plan.emit(OperationKind.PARTIAL_CREDIT, plan.take(shrink), f"edit:{plan.snapshot.total}",
              lines=lines, order_total_after=plan.snapshot.total)


def _credit_refund(plan: _Plan, refund: Refund) -> None:
    source = f"refund:{refund.refund_id}"
    if not refund.lines:
        plan.emit(OperationKind.PARTIAL_CREDIT, plan.take(refund.amount), source,
                  refund_id=refund.refund_id)
        return
    lines = tuple(ol for rl in refund.lines
                  if (ol := _line_value(plan, rl.line_id, rl.quantity)).quantity > 0)
    value = sum(ol.amount for ol in lines)
    weights: dict[Decimal, int] = {}
    for ol in lines:
        rate = next(li.tax_rate for li in plan.snapshot.lines if li.line_id == ol.line_id)
        weights[rate] = weights.get(rate, 0) + ol.amount
    kind = OperationKind.RETURN if plan.state.status is Status.ACTIVE else \
        OperationKind.PARTIAL_CREDIT
    plan.emit(kind, plan.take(max(refund.amount, value), weights), source, lines=lines,
              refund_id=refund.refund_id)


def _line_value(plan: _Plan, line_id: str, quantity: int) -> OperationLine:
    """Gross value of ``quantity`` more units of a line, after the units the ledger already
    took back; counted cumulatively so all units together are worth the line total."""
    line = next(li for li in plan.snapshot.lines if li.line_id == line_id)
    known = plan.state.lines.get(line_id)
    before = 0
    if known is not None:  # units taken back, less those an edit removed from the line
        before = known.cancelled + known.returned - max(known.ordered - line.quantity, 0)
    before = min(max(before, 0), line.quantity)
    units = min(quantity, line.quantity - before)
    value = share(line.gross, before + units, line.quantity) - share(line.gross, before,
                                                                      line.quantity)
    return OperationLine(line_id, units, value, article=line.kind is LineKind.PRODUCT)
