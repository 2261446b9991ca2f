"""Where operations are decided: compare a snapshot with the ledger state, list what to do.

:func:`reconcile` is pure. The rules (design §2):

* the first snapshot of an order places it (authorisation); activation happens only when the
  shop status is mapped to ``activate`` by the connection (it invoices everything not yet
  invoiced), or when the shop reports units ``shipped`` beyond those invoiced (a partial
  activation of just those units, shipping and fees with the first), never on placement by
  itself;
* a cancel before activation voids the authorisation, after activation it credits the open
  amount (after a partial activation: first the part not yet invoiced is cancelled, then the
  invoices are credited); refunds reaching the total, a fully returned order, or no articles
  left credit fully, shipping included;
* a discount that grew by X transfers X; a total that shrank beyond that (an order edit)
  credits the difference; a total that rose (items added, a discount reduced) is refused
  and reported, unless the provider accepts increases (``increases``) and part of the
  order is not yet invoiced: then an ``increase`` raises that part to the new total (an
  invoice itself is never increased). An increase the provider declined (its source in
  ``declined``) is not asked for again: the decline was reported;
* every refund not seen before credits its amount: by lines when the shop names them (a
  return of invoiced units, a partial cancellation of units not yet invoiced), otherwise as an
  amount; a refund naming lines credits the shop's amount, at least what the shop values
  the lines at (else their value), so return shipping is never charged;
* a reduction of a partially activated order is passed on in up to two parts: first against
  the invoices (a credit note, ``after_activation``), then against the part not yet invoiced.
  Units go to the pot they are in (refunded or removed units count as not yet invoiced
  first); amounts without units go to the invoices first; what one pot cannot hold goes to
  the other;
* nothing is ever credited above the open amount (I3), and a snapshot older than the last one
  processed, or one seen already, yields nothing (I2, I4);
* every amount is split over tax rates from what is still open per rate in its pot, so credit
  notes add up to the invoice in net and tax as well as gross.

Operations are decided one at a time, each from the state the ones before it lead to, so
reconciling the same snapshot against the state after the first operation gives exactly the
others. A change passed on in two parts therefore marks its progress in the state: the
first part of a discount or an edit moves ``discount_total_after``/``order_total_after`` by
its amount, and the first part of a refund leaves a mark in ``refund_ids`` with what is
still to come.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core.increases import increase
from core.money import Amount, allocate, to_decimal
from core.operations import (
    Decision,
    Operation,
    OperationKind,
    OperationLine,
    RateAmounts,
    Refusal,
    idempotency_key,
    rates_of_lines,
    total_of,
)
from core.rates import line_value, room, shop_change, take, units_value, weights_of
from core.snapshot import Line, LineKind, OrderSnapshot, Refund, RefundLine
from core.state import LineState, OrderState, Status, apply

__all__ = ["Rules", "Trigger", "closing_operations", "merchant_operations", "reconcile"]

MAX_SOURCE = 128  # the length of the ledger's ``operations.source``


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


def reconcile(snapshot: OrderSnapshot, state: OrderState | None, rules: Rules, *,
              increases: bool = False, declined: frozenset[str] = frozenset()) -> Decision:
    """Decide the operations that bring the provider in line with ``snapshot``;
    ``increases``: the order's provider accepts increases, except those whose source is in
    ``declined``."""
    state = state or OrderState()
    if state.ordering_key is not None and snapshot.ordering_key < state.ordering_key:
        return Decision(stale=True)
    trigger = rules.trigger(snapshot.status)
    # increases are passed on while part of the order is not yet invoiced
    raising = increases and state.status.is_open and state.unbilled > 0
    refusals: tuple[Refusal, ...] = ()
    if state.status.is_open and not _closes(snapshot, state, trigger) and not raising:
        refusals = _refusals(snapshot, state)
    operations = []
    while (op := _next_operation(snapshot, state, trigger,
                                 declined if raising else None)) is not None:
        operations.append(op)
        state = apply(state, op)
    return Decision(tuple(operations), refusals)


def _next_operation(s: OrderSnapshot, state: OrderState, trigger: Trigger | None,
                    declined: frozenset[str] | None = None) -> Operation | None:
    """The first operation ``state`` still needs to match ``s``, or ``None``; increases
    only when ``declined`` is given (the increases not to ask for)."""
    if state.status is Status.NEW:
        return _placement(s)
    if not state.status.is_open:
        return None
    if _closes(s, state, trigger):
        return _closing_credit(s, state)
    activation = _activation if trigger is Trigger.ACTIVATE else _shipment
    raised = increase(s, state, declined) if declined is not None else None
    return (_discount_transfer(s, state) or _edit_credit(s, state) or raised
            or activation(s, state) or _refund_credit(s, state))


def _operation(s: OrderSnapshot, kind: OperationKind, by_rate: RateAmounts, source: str, *,
               after_activation: bool, lines: tuple[OperationLine, ...] = (),
               refund_id: str | None = None, discount_total_after: int | None = None,
               order_total_after: int | None = None) -> Operation | None:
    """The operation, or ``None`` when it would move no money (only a placement may)."""
    by_rate = tuple((rate, a) for rate, a in by_rate if a != Amount.zero())
    amount = total_of(by_rate)
    if amount.gross <= 0 and kind is not OperationKind.PLACEMENT:
        return None
    return Operation(
        kind=kind, amount=amount, by_rate=by_rate, source=source, lines=lines,
        after_activation=after_activation,
        idempotency_key=idempotency_key(s.shop, s.order_id, kind, source, amount.gross),
        refund_id=refund_id, discount_total_after=discount_total_after,
        order_total_after=order_total_after,
    )


# -- placement and closing ------------------------------------------------------------------


def _placement(s: OrderSnapshot) -> Operation | None:
    """Authorise the total, split per tax rate as the lines are, rounding put on the largest."""
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
    return _operation(
        s, OperationKind.PLACEMENT, tuple(sorted(by_rate.items())), "placement",
        after_activation=False,
        lines=tuple(OperationLine(li.line_id, li.quantity, li.gross,
                                  article=li.kind is LineKind.PRODUCT) for li in s.lines),
        order_total_after=s.total, discount_total_after=s.discount_total,
    )


def _closes(s: OrderSnapshot, state: OrderState, trigger: Trigger | None) -> bool:
    return (
        s.cancelled
        or trigger is Trigger.CANCEL
        or s.returned
        or s.refund_total >= s.total
        or _articles_left(s, state) == 0
    )


def _articles_left(s: OrderSnapshot, state: OrderState) -> int | None:
    """Article units the buyer still keeps: ordered articles still in the snapshot, less the
    units its refunds name; ``None`` for an order that never had articles."""
    articles = [line_id for line_id, ls in state.lines.items() if ls.article]
    if not articles:
        return None
    present = {line.line_id: line.quantity for line in s.lines}
    refunded: dict[str, int] = {}
    for refund in s.refunds:
        for rl in refund.lines or ():
            refunded[rl.line_id] = refunded.get(rl.line_id, 0) + rl.quantity
    return sum(max(present.get(i, 0) - refunded.get(i, 0), 0) for i in articles)


def _closing_credit(s: OrderSnapshot, state: OrderState, reason: str = "") -> Operation | None:
    """Credit everything open: on a partially activated order first the part not yet
    invoiced (``full_credit:unbilled``), then the invoices. ``reason`` prefixes the source
    of a closing the kit decides itself (``expiry:full_credit``)."""
    if state.activated and state.unbilled > 0:
        op = _operation(s, OperationKind.FULL_CREDIT, state.unbilled_by_rate,
                        f"{reason}full_credit:unbilled", after_activation=False)
        if op is not None:
            return op
    return _operation(s, OperationKind.FULL_CREDIT, state.open_by_rate, f"{reason}full_credit",
                      after_activation=state.activated > 0)


def closing_operations(s: OrderSnapshot, state: OrderState,
                       reason: str) -> tuple[Operation, ...]:
    """The full credits that close an open order on the kit's own decision (``reason``:
    ``expiry``, ``dunning``), whatever the shop's snapshot says."""
    operations = []
    while state.status.is_open and (op := _closing_credit(s, state, f"{reason}:")) is not None:
        operations.append(op)
        state = apply(state, op)
    return tuple(operations)


def merchant_operations(s: OrderSnapshot, state: OrderState, action: str, *,
                        gross: int = 0, units: Mapping[str, int] | None = None,
                        source: str = "office") -> tuple[Operation, ...]:
    """What a merchant's own action in the back office calls for, whatever the shop's
    snapshot says: ``activate`` invoices everything not yet invoiced; ``reduce`` takes
    ``gross`` off the order (from the invoices first: a credit note; else a partial
    cancellation), at most what is open; ``return`` credits ``units`` of lines (line id →
    quantity) valued as a shop's refund of those lines would be; ``cancel`` credits
    everything open. ``source`` makes the keys (one per submitted form)."""
    if not state.status.is_open:
        return ()
    if action == "return":
        unknown = set(units or {}) - {line.line_id for line in s.lines}
        if unknown:
            raise ValueError(f"the order has no line {', '.join(sorted(unknown))}")
        refund = Refund(refund_id=source, amount=0, lines=tuple(
            RefundLine(line_id, quantity, 0) for line_id, quantity in (units or {}).items()
            if quantity > 0))
        operations = []
        while refund.lines and refund.refund_id not in state.refund_ids and \
                len(operations) < 2 and (op := _refund_part(s, state, refund)) is not None:
            operations.append(op)
            state = apply(state, op)
        return tuple(operations)
    if action == "activate":
        op = _activation(s, state)
        return (op,) if op is not None else ()
    if action == "reduce":
        gross = min(gross, state.open_amount)
        part = _Part(OperationKind.PARTIAL_CREDIT)
        operations = []
        while gross > 0 and (op := _reduction(s, state, gross, gross, source, part, part,
                                              lambda amount, final: {})) is not None:
            operations.append(op)
            gross -= op.amount.gross
            state = apply(state, op)
        return tuple(operations)
    if action == "cancel":
        return closing_operations(s, state, "office")
    raise ValueError(f"no merchant action {action!r}")


# -- refusals ---------------------------------------------------------------------------------


def _refusals(s: OrderSnapshot, state: OrderState) -> tuple[Refusal, ...]:
    """What the snapshot raises that is refused: a discount reduced (a coupon removed) and
    a total that rose beyond what that explains (items added), each reported once."""
    refusals = []
    seen = state.total_seen
    rise = max(s.total - seen, 0)
    lost = max(state.discount_seen - s.discount_total, 0)
    if lost:
        refusals.append(Refusal(
            "discount_decrease", lost,
            f"a discount was reduced by {to_decimal(lost, s.currency)} {s.currency}"
            + (f" (the order total rose from {to_decimal(seen, s.currency)} to "
               f"{to_decimal(s.total, s.currency)})" if rise else "")
            + "; increases of an existing order or invoice are refused"))
    if rise > lost + len(s.lines):  # beyond the discount and the shop's rounding
        refusals.append(Refusal(
            "increase", rise - lost,
            f"the order total rose from {to_decimal(seen, s.currency)} to "
            f"{to_decimal(s.total, s.currency)} {s.currency}; increases of an existing "
            "order or invoice are refused: create a new order for the extra items"))
    return tuple(refusals)


# -- activation -------------------------------------------------------------------------------


def _activation(s: OrderSnapshot, state: OrderState) -> Operation | None:
    """Invoice everything not yet invoiced: the shop's status maps to ``activate``."""
    by_line = {line.line_id: line for line in s.lines}
    lines = tuple(_activation_line(by_line.get(line_id), line_id, known, known.unbilled)
                  for line_id, known in state.lines.items() if known.unbilled > 0)
    return _operation(s, OperationKind.ACTIVATION, state.unbilled_by_rate, "activation",
                      after_activation=state.activated > 0, lines=lines)


def _shipment(s: OrderSnapshot, state: OrderState) -> Operation | None:
    """Invoice the units shipped beyond those invoiced (partial activation); shipping and
    fees are invoiced in full with the first shipment, and a shipment that leaves no unit
    uninvoiced invoices everything not yet invoiced (rounding included)."""
    newly = {line.line_id: units for line in s.lines
             if (units := _newly_shipped(line, state.lines.get(line.line_id))) > 0}
    if not newly:
        return None
    lines = tuple(_activation_line(line, line.line_id, state.lines[line.line_id], units)
                  for line in s.lines if (units := _shipment_units(line, state, newly)) > 0)
    invoiced = {ol.line_id: ol.quantity for ol in lines}
    if all(invoiced.get(line_id, 0) >= known.unbilled
           for line_id, known in state.lines.items()):
        by_rate = state.unbilled_by_rate
    else:
        by_rate = take(state.unbilled_by_rate, sum(ol.amount for ol in lines),
                       weights_of(s, lines))
    return _operation(s, OperationKind.ACTIVATION, by_rate, _shipment_source(s),
                      after_activation=state.activated > 0, lines=lines)


def _newly_shipped(line: Line, known: LineState | None) -> int:
    """Units of a line shipped beyond those invoiced, as far as they are not cancelled."""
    if known is None or not line.shipped:
        return 0
    return min(line.shipped - known.activated, known.unbilled)


def _shipment_units(line: Line, state: OrderState, newly: Mapping[str, int]) -> int:
    """Units of a line a shipment invoices: the articles newly shipped, and all of a shipping
    or fee line not yet invoiced (so they go with the first shipment)."""
    known = state.lines.get(line.line_id)
    if known is None:
        return 0
    return newly.get(line.line_id, 0) if known.article else known.unbilled


def _activation_line(line: Line | None, line_id: str, known: LineState,
                     units: int) -> OperationLine:
    """``units`` more units of a line to invoice, valued on from those already invoiced."""
    if line is None:  # gone from the order: its value is unknown
        return OperationLine(line_id, units, 0, known.article)
    return OperationLine(line_id, units, units_value(line, known.activated, units),
                         article=line.kind is LineKind.PRODUCT)


def _shipment_source(s: OrderSnapshot) -> str:
    """``shipment:`` and the units shipped so far per line (``shipment:1=2,7=1``), so each
    new shipment level is a change of its own; a digest of that where it would be too long."""
    text = ",".join(f"{line.line_id}={line.shipped}"
                    for line in sorted(s.lines, key=lambda li: li.line_id) if line.shipped)
    source = f"shipment:{text}"
    if len(source) > MAX_SOURCE:
        source = f"shipment:#{hashlib.sha256(text.encode()).hexdigest()}"
    return source


# -- reductions -------------------------------------------------------------------------------


Marks = Callable[[int, bool], dict[str, Any]]


def _invoiced_share(state: OrderState, total: int, want: int) -> int:
    """How much of a reduction of ``total`` the invoices take: what its invoiced units call
    for (``want``), more if the part not yet invoiced cannot hold the rest, never more than
    the invoices have open."""
    return max(0, min(max(want, total - room(state.unbilled_by_rate)),
                      room(state.invoiced_by_rate)))


def _unbilled_source(state: OrderState, source: str) -> str:
    """The source of a part taken from what is not yet invoiced: the change's own before any
    activation (as always), else kept apart from the part taken from the invoices."""
    return f"{source}:unbilled" if state.activated else source


@dataclass(frozen=True, slots=True)
class _Part:
    """One pot's side of a reduction: the operation kind, units and weights per tax rate."""

    kind: OperationKind
    lines: tuple[OperationLine, ...] = ()
    weights: Mapping[Decimal, int] | None = None
    exact: RateAmounts | None = None


def _reduction(s: OrderSnapshot, state: OrderState, total: int, want: int, source: str,
               invoiced: _Part, unbilled: _Part, marks: Marks, *,
               unbilled_only: bool = False) -> Operation | None:
    """The next part of a reduction of ``total``: from the invoices first (``want`` and what
    the other pot cannot hold), else from what is not yet invoiced.

    ``marks(amount, final)`` gives the part's progress marks; a part is final when nothing
    is left for the other pot.
    """
    if not unbilled_only:
        by_rate = take(state.invoiced_by_rate, _invoiced_share(state, total, want),
                       invoiced.weights, invoiced.exact)
        part = total_of(by_rate).gross
        if part > 0:
            final = not take(state.unbilled_by_rate, total - part, unbilled.weights)
            return _operation(s, invoiced.kind, by_rate, source, after_activation=True,
                              lines=invoiced.lines, **marks(part, final))
    by_rate = take(state.unbilled_by_rate, total, unbilled.weights, unbilled.exact)
    return _operation(s, unbilled.kind, by_rate, _unbilled_source(state, source),
                      after_activation=False, lines=unbilled.lines,
                      **marks(total_of(by_rate).gross, True))


def _discount_transfer(s: OrderSnapshot, state: OrderState) -> Operation | None:
    """A discount total that grew by X transfers X, from the invoices first. When the
    shop's lines say what the discount took per tax rate (they lost exactly what the order
    total did, and no units), that is what is transferred, to the cent per rate: the shop's
    coupon total can differ from its lines by a cent of rounding."""
    grown = s.discount_total - state.discount_seen
    if grown <= 0:
        return None
    target = s.discount_total
    exact, amount = _exact_change(s, state), grown
    if exact is not None and not any(_removed_units(s, state)):
        amount = total_of(exact).gross
    else:
        exact = None

    def marks(part: int, final: bool) -> dict[str, Any]:
        return {"discount_total_after": state.discount_seen + (grown if final else part),
                "order_total_after": state.total_seen - (amount if final else part)}

    kind = _Part(OperationKind.DISCOUNT_TRANSFER, exact=exact)
    return _reduction(s, state, amount, amount, f"discount:{target}", kind, kind, marks)


def _exact_change(s: OrderSnapshot, state: OrderState) -> RateAmounts | None:
    """The shop's change per tax rate (:func:`core.rates.shop_change`) when it is all the
    order total lost since the provider was last told: then it is what to pass on."""
    change = shop_change(s, state)
    if change and total_of(change).gross == state.total_seen - s.total:
        return change
    return None


def _edit_credit(s: OrderSnapshot, state: OrderState) -> Operation | None:
    """A total that fell without a refund or discount: lines were removed or reduced."""
    shrink = state.total_seen - s.total
    if shrink <= 0:
        return None
    returned, cancelled = _removed_units(s, state)
    if not cancelled:  # invoiced units only, or no units known: from the invoices first
        want = shrink
    elif not returned:
        want = 0
    else:  # both: in proportion to the units
        want = allocate(shrink, [sum(ol.quantity for ol in returned),
                                 sum(ol.quantity for ol in cancelled)])[0]

    def marks(part: int, final: bool) -> dict[str, Any]:
        return {"order_total_after": s.total if final else state.total_seen - part}

    exact = _exact_change(s, state)  # what the lines lost per rate, when that is the shrink
    return _reduction(s, state, shrink, want, f"edit:{s.total}",
                      _Part(OperationKind.PARTIAL_CREDIT, returned, exact=exact),
                      _Part(OperationKind.PARTIAL_CREDIT, cancelled, exact=exact), marks)


def _removed_units(s: OrderSnapshot, state: OrderState,
                   ) -> tuple[tuple[OperationLine, ...], tuple[OperationLine, ...]]:
    """Units an edit removed, per line: invoiced ones (returned) and others (cancelled);
    units not yet invoiced count as removed first."""
    present = {line.line_id: line.quantity for line in s.lines}
    returned, cancelled = [], []
    for line_id, known in state.lines.items():
        removed = known.remaining - present.get(line_id, 0)
        if removed <= 0:
            continue
        units = min(removed, known.unbilled)
        if units:
            cancelled.append(OperationLine(line_id, units, 0, known.article))
        if removed - units:
            returned.append(OperationLine(line_id, removed - units, 0, known.article))
    return tuple(returned), tuple(cancelled)


def _refund_credit(s: OrderSnapshot, state: OrderState) -> Operation | None:
    """The next part of the first refund not yet passed on that moves money."""
    for refund in s.refunds:
        if refund.refund_id not in state.refund_ids:
            op = _refund_part(s, state, refund)
            if op is not None:
                return op
    return None


def _refund_part(s: OrderSnapshot, state: OrderState, refund: Refund) -> Operation | None:
    """A refund's credit note against the invoices, or its reduction of what is not yet
    invoiced. The refund counts as seen once its last part is passed on; a first part
    followed by another leaves a mark with the amount still to come."""
    to_come = _refund_to_come(state, refund.refund_id)

    def marks(part: int, final: bool) -> dict[str, Any]:
        if final:
            return {"refund_id": refund.refund_id}
        return {"refund_id": _refund_mark(refund.refund_id, total - part)}

    source = f"refund:{refund.refund_id}"
    if not refund.lines:
        total = refund.amount if to_come is None else to_come
        part = _Part(OperationKind.PARTIAL_CREDIT)
        return _reduction(s, state, total, total, source, part, part, marks,
                          unbilled_only=to_come is not None)
    returned, cancelled = _refunded_units(s, state, refund)
    total = _refund_total(refund, returned + cancelled) if to_come is None else to_come
    want = total - sum(ol.amount for ol in cancelled)
    # units back make a return; amounts of lines without units (quantity 0) a credit, at
    # the rates of those lines; where the shop gave each line's tax, its figures per rate
    units = tuple(ol for ol in returned if ol.quantity)
    kind = OperationKind.RETURN if units else OperationKind.PARTIAL_CREDIT
    exact = _refund_by_rate(s, refund) if to_come is None else None
    return _reduction(s, state, total, want, source,
                      _Part(kind, units, weights_of(s, returned), exact),
                      _Part(OperationKind.PARTIAL_CREDIT,
                            tuple(ol for ol in cancelled if ol.quantity),
                            weights_of(s, cancelled), exact),
                      marks, unbilled_only=to_come is not None)


def _refund_by_rate(s: OrderSnapshot, refund: Refund) -> RateAmounts | None:
    """A refund per tax rate as the shop computed it: its lines' amounts and taxes at their
    lines' rates, when every line has its tax and they make up the refund."""
    rates = {line.line_id: line.tax_rate for line in s.lines}
    lines = refund.lines or ()
    if not lines or any(rl.tax is None or rl.line_id not in rates for rl in lines) \
            or sum(rl.amount for rl in lines) != refund.amount:
        return None
    return rates_of_lines((rates[rl.line_id], Amount(rl.amount, rl.amount - rl.tax, rl.tax))
                          for rl in lines)


def _refund_total(refund: Refund, valued: tuple[OperationLine, ...]) -> int:
    """What a refund naming lines credits: the shop's refund amount, but never less than
    what the shop itself says the returned lines are worth (their refund amounts): a part
    of that kept back, such as return shipping, is not charged to the buyer. Where the shop
    does not value every line (a return entered in the back office), never less than the
    lines' value in the ledger (``valued``)."""
    lines = refund.lines or ()
    if lines and all(rl.amount > 0 for rl in lines):
        return max(refund.amount, sum(rl.amount for rl in lines))
    return max(refund.amount, sum(ol.amount for ol in valued))


def _refunded_units(s: OrderSnapshot, state: OrderState, refund: Refund,
                    ) -> tuple[tuple[OperationLine, ...], tuple[OperationLine, ...]]:
    """The units a refund names, valued: invoiced ones (returned) and others (cancelled).

    Units not yet invoiced count as refunded first: a shop refunds what it has not shipped
    rather than take back what it has. Returned units are valued first, cancelled ones on
    from them, so both together are worth what all the units are. A line refunded without
    units (quantity 0: part of its price, the shipping alone) is its amount at that line's
    rate, from the invoices when the line is invoiced.
    """
    unbilled = {line_id: ls.unbilled for line_id, ls in state.lines.items()}
    returned, cancelled = [], []
    for rl in refund.lines or ():
        if rl.quantity == 0:
            known = state.lines.get(rl.line_id)
            pot = returned if known is None or known.activated else cancelled
            pot.append(OperationLine(rl.line_id, 0, rl.amount, article=False))
            continue
        whole = line_value(s, state, rl.line_id, rl.quantity)
        units = min(whole.quantity, unbilled.get(rl.line_id, 0))
        unbilled[rl.line_id] = unbilled.get(rl.line_id, 0) - units
        back = line_value(s, state, rl.line_id, whole.quantity - units)
        if back.quantity > 0:
            returned.append(back)
        if units > 0:
            cancelled.append(OperationLine(rl.line_id, units, whole.amount - back.amount,
                                           whole.article))
    return tuple(returned), tuple(cancelled)


def _refund_mark(refund_id: str, to_come: int) -> str:
    """The mark in ``refund_ids`` of a refund whose invoiced part is passed on, with the
    amount still to come from what is not yet invoiced (short: ``refund_ids`` are stored
    in 64 characters)."""
    return f"{_mark_prefix(refund_id)}{to_come}"


def _mark_prefix(refund_id: str) -> str:
    return f"part:{hashlib.sha256(refund_id.encode()).hexdigest()[:24]}:"


def _refund_to_come(state: OrderState, refund_id: str) -> int | None:
    """What is still to come of a refund whose invoiced part is passed on, else ``None``."""
    prefix = _mark_prefix(refund_id)
    return next((int(mark[len(prefix):]) for mark in state.refund_ids
                 if mark.startswith(prefix)), None)
