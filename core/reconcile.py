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
  processed, or one seen already, yields nothing (I2, I4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from core.money import Amount, share, split_by_rate, to_decimal
from core.operations import (
    Decision,
    Operation,
    OperationKind,
    OperationLine,
    Refusal,
    idempotency_key,
)
from core.snapshot import Line, OrderSnapshot, Refund
from core.state import OrderState, Status, apply

__all__ = ["Rules", "Trigger", "reconcile"]


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


class _Plan:
    """Operations decided so far, with the state they lead to."""

    def __init__(self, snapshot: OrderSnapshot, state: OrderState) -> None:
        self.snapshot = snapshot
        self.state = state
        self.operations: list[Operation] = []
        self.refusals: list[Refusal] = []

    def emit(self, kind: OperationKind, amount: Amount, source: str, *,
             lines: tuple[OperationLine, ...] = (), **marks: int | str | None) -> None:
        if amount.gross <= 0 and kind is not OperationKind.PLACEMENT:
            return
        s = self.snapshot
        op = Operation(
            kind=kind, amount=amount, source=source, lines=lines,
            after_activation=self.state.status is Status.ACTIVE,
            idempotency_key=idempotency_key(s.shop, s.order_id, kind, source, amount.gross),
            **marks,  # type: ignore[arg-type]
        )
        self.operations.append(op)
        self.state = apply(self.state, op)

    def refuse(self, reason: str, amount: int, message: str) -> None:
        self.refusals.append(Refusal(reason=reason, amount=amount, message=message))

    def split(self, gross: int) -> Amount:
        """Net and tax of a gross amount, spread over the order's tax rates."""
        basis: dict[Decimal, int] = {}
        for line in self.snapshot.lines:
            basis[line.tax_rate] = basis.get(line.tax_rate, 0) + max(line.gross, 0)
        return split_by_rate(gross, basis)

    def capped(self, gross: int) -> int:
        return min(gross, self.state.open_amount)


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
    if _closes(snapshot, trigger):
        plan.emit(OperationKind.FULL_CREDIT, plan.split(plan.state.open_amount), "full_credit")
        return Decision(tuple(plan.operations), tuple(plan.refusals))

    _refuse_increase(plan)
    _transfer_discount(plan)
    _credit_edits(plan)
    if trigger is Trigger.ACTIVATE and plan.state.status is Status.AUTHORISED:
        plan.emit(OperationKind.ACTIVATION, _activation_amount(plan), "activation")
    for refund in snapshot.refunds:
        if refund.refund_id not in plan.state.refund_ids and plan.state.status.is_open:
            _credit_refund(plan, refund)
    return Decision(tuple(plan.operations), tuple(plan.refusals))


def _closes(snapshot: OrderSnapshot, trigger: Trigger | None) -> bool:
    return (
        snapshot.cancelled
        or trigger is Trigger.CANCEL
        or snapshot.returned
        or snapshot.refund_total >= snapshot.total
        or (bool(snapshot.products) and snapshot.articles_left() == 0)
    )


def _place(plan: _Plan) -> None:
    s = plan.snapshot
    plan.emit(
        OperationKind.PLACEMENT,
        Amount(s.total, s.total - s.total_tax, s.total_tax),
        "placement",
        lines=tuple(OperationLine(li.line_id, li.quantity, li.gross) for li in s.lines),
        order_total_after=s.total,
        discount_total_after=s.discount_total,
    )


def _activation_amount(plan: _Plan) -> Amount:
    s, open_amount = plan.snapshot, plan.state.open_amount
    if open_amount == s.total:
        return Amount(s.total, s.total - s.total_tax, s.total_tax)
    return plan.split(open_amount)


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
    plan.emit(OperationKind.DISCOUNT_TRANSFER, plan.split(plan.capped(grown)), f"discount:{target}",
              discount_total_after=target,
              order_total_after=plan.state.total_seen - grown)


def _credit_edits(plan: _Plan) -> None:
    """A total that fell without a refund or discount: lines were removed or reduced."""
    shrink = plan.state.total_seen - plan.snapshot.total
    if shrink <= 0:
        return
    lines = []
    for line in plan.snapshot.lines:
        known = plan.state.lines.get(line.line_id)
        if known is not None and line.quantity < known.remaining:
            lines.append(OperationLine(line.line_id, known.remaining - line.quantity, 0))
    for line_id, known in plan.state.lines.items():
        if known.remaining and all(li.line_id != line_id for li in plan.snapshot.lines):
            lines.append(OperationLine(line_id, known.remaining, 0))
    plan.emit(OperationKind.PARTIAL_CREDIT, plan.split(plan.capped(shrink)),
              f"edit:{plan.snapshot.total}", lines=tuple(lines),
              order_total_after=plan.snapshot.total)


def _credit_refund(plan: _Plan, refund: Refund) -> None:
    if refund.lines:
        lines = tuple(_line_value(plan.snapshot, refund, rl.line_id, rl.quantity)
                      for rl in refund.lines)
        value = sum(ol.amount for ol in lines)
        gross = plan.capped(max(refund.amount, value))
        kind = OperationKind.RETURN if plan.state.status is Status.ACTIVE else \
            OperationKind.PARTIAL_CREDIT
        amount = _amount_of_lines(plan, lines, gross)
        plan.emit(kind, amount, f"refund:{refund.refund_id}", lines=lines,
                  refund_id=refund.refund_id)
    else:
        plan.emit(OperationKind.PARTIAL_CREDIT, plan.split(plan.capped(refund.amount)),
                  f"refund:{refund.refund_id}", refund_id=refund.refund_id)


def _line_value(snapshot: OrderSnapshot, refund: Refund, line_id: str,
                quantity: int) -> OperationLine:
    """Gross value of ``quantity`` units of a line refunded by ``refund``.

    Counted cumulatively over the snapshot's refunds (oldest first), so that all units of a
    line together are worth exactly the line total, whatever the order of the returns.
    """
    line = _line(snapshot, line_id)
    before = 0
    for earlier in snapshot.refunds:
        if earlier is refund:
            break
        before += sum(rl.quantity for rl in earlier.lines or () if rl.line_id == line_id)
    value = (share(line.gross, before + quantity, line.quantity)
             - share(line.gross, before, line.quantity))
    return OperationLine(line_id, quantity, value)


def _amount_of_lines(plan: _Plan, lines: tuple[OperationLine, ...], gross: int) -> Amount:
    """Net and tax of ``gross`` spread over the tax rates of ``lines``."""
    basis: dict[Decimal, int] = {}
    for ol in lines:
        rate = _line(plan.snapshot, ol.line_id).tax_rate
        basis[rate] = basis.get(rate, 0) + ol.amount
    if sum(basis.values()) == 0:
        return plan.split(gross)
    return split_by_rate(gross, basis)


def _line(snapshot: OrderSnapshot, line_id: str) -> Line:
    return next(li for li in snapshot.lines if li.line_id == line_id)

