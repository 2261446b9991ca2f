"""Property tests of reconciliation over random carts and histories (invariants I2 to I4).

Each example builds a random cart (several tax rates, shipping, a fee), then a random history
of shop changes — shipments of some units, activation, amount refunds, line refunds,
discounts, increases, cancel — as a series of snapshots, and folds them through ``reconcile``
and ``apply`` exactly as the executor does, in order, twice each, shuffled, and one operation
at a time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import Amount, net_of, share
from core.operations import OperationKind, RateAmounts
from core.reconcile import Rules, reconcile
from core.snapshot import Buyer, Discount, Line, LineKind, OrderSnapshot, Refund, RefundLine
from core.state import OrderState, Status, apply, mark_seen

RULES = Rules.from_mapping({"completed": "activate", "cancelled": "cancel"})
BUYER = Buyer(company="Muster GmbH", legal_form="GmbH", vat_id=None, first_name=None,
              last_name=None, email="a@b.example", street="Weg 1", postcode="10115",
              city="Berlin", country="DE")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
RATES = [Decimal("0"), Decimal("7"), Decimal("19"), Decimal("25.5")]


def make_line(line_id: str, kind: LineKind, quantity: int, gross: int, rate: Decimal) -> Line:
    net = net_of(gross, rate)
    return Line(line_id=line_id, kind=kind, name=line_id, quantity=quantity, net=net,
                tax=gross - net, gross=gross, tax_rate=rate)


@st.composite
def carts(draw: st.DrawFn) -> tuple[Line, ...]:
    count = draw(st.integers(1, 6))
    lines = [
        make_line(f"p{i}", LineKind.PRODUCT, draw(st.integers(1, 7)),
                  draw(st.integers(1, 400_00)), draw(st.sampled_from(RATES)))
        for i in range(count)
    ]
    if draw(st.booleans()):
        lines.append(make_line("ship", LineKind.SHIPPING, 1, draw(st.integers(0, 30_00)),
                               draw(st.sampled_from(RATES))))
    if draw(st.booleans()):
        lines.append(make_line("fee", LineKind.FEE, 1, draw(st.integers(1, 5_00)),
                               draw(st.sampled_from(RATES))))
    return tuple(lines)


EVENTS = st.lists(
    st.one_of(
        st.just(("complete",)),
        st.just(("cancel",)),
        st.tuples(st.just("refund_amount"), st.integers(1, 10_000)),
        st.tuples(st.just("refund_lines"), st.integers(0, 5), st.integers(1, 7)),
        st.tuples(st.just("refund_lines"), st.integers(0, 5), st.just(7)),  # all units left
        st.tuples(st.just("discount"), st.integers(0, 5), st.integers(1, 20_000)),
        st.tuples(st.just("increase"), st.integers(1, 50_00)),
        st.tuples(st.just("ship"), st.integers(0, 7), st.integers(1, 7)),
    ),
    max_size=10,
)
# Orders shipped in part before anything else happens, so that refunds, discounts, edits and
# closing often meet an order that is partly invoiced.
SHIPPED_FIRST = st.tuples(
    st.lists(st.tuples(st.just("ship"), st.integers(0, 7), st.integers(1, 3)), min_size=1,
             max_size=3),
    EVENTS,
).map(lambda parts: parts[0] + parts[1])
HISTORIES = st.one_of(EVENTS, SHIPPED_FIRST)


class Shop:
    """A shop's view of one order, producing a snapshot after every change."""

    def __init__(self, lines: tuple[Line, ...]) -> None:
        self.lines = list(lines)
        self.status = "processing"
        self.refunds: list[Refund] = []
        self.discounts: list[Discount] = []
        self.cancelled = False
        self.increased = False
        self.shipped: dict[str, int] = {}
        self.version = 0

    @property
    def total(self) -> int:
        return sum(li.gross for li in self.lines)

    def refunded_units(self, line_id: str) -> int:
        return sum(rl.quantity for r in self.refunds for rl in r.lines or ()
                   if rl.line_id == line_id)

    def refundable(self) -> int:
        return self.total - sum(r.amount for r in self.refunds)

    def shippable(self, line: Line) -> int:
        """Units neither shipped nor refunded (a shop ships no unit it took back)."""
        return line.quantity - self.shipped.get(line.line_id, 0) - self.refunded_units(
            line.line_id)

    @property
    def shipped_all(self) -> bool:
        return all(self.shipped.get(li.line_id, 0) == li.quantity for li in self.lines)

    def apply(self, event: tuple) -> bool:
        """Change the order as the shop would; ``False`` if the event cannot happen now."""
        kind = event[0]
        if kind == "complete":
            self.status = "completed"
        elif kind == "cancel":
            self.status, self.cancelled = "cancelled", True
        elif kind == "refund_amount":
            amount = min(event[1], self.refundable())
            if amount <= 0:
                return False
            self.refunds.append(Refund(f"r{len(self.refunds)}", amount))
        elif kind == "refund_lines":
            products = [li for li in self.lines if li.kind is LineKind.PRODUCT]
            line = products[event[1] % len(products)]
            before = self.refunded_units(line.line_id)
            units = min(event[2], line.quantity - before)
            if units <= 0:
                return False
            value = share(line.gross, before + units, line.quantity) - share(
                line.gross, before, line.quantity)
            if value <= 0 or value > self.refundable():
                return False
            self.refunds.append(Refund(f"r{len(self.refunds)}", value,
                                       (RefundLine(line.line_id, units, value),)))
        elif kind == "discount":
            if self.refunds:  # shops recalculate totals only before refunds
                return False
            index = event[1] % len(self.lines)
            line = self.lines[index]
            amount = min(event[2], line.gross - 1)
            if line.kind is not LineKind.PRODUCT or amount <= 0:
                return False
            self.lines[index] = make_line(line.line_id, line.kind, line.quantity,
                                          line.gross - amount, line.tax_rate)
            self.discounts.append(Discount(f"d{len(self.discounts)}", amount))
        elif kind == "increase":
            if self.refunds:
                return False
            self.lines.append(make_line(f"x{len(self.lines)}", LineKind.PRODUCT, 1, event[1],
                                        Decimal("19")))
            self.increased = True
        elif kind == "ship":  # shipping and fees are invoiced with the first article
            products = [li for li in self.lines if li.kind is LineKind.PRODUCT]
            line = products[event[1] % len(products)]
            units = min(event[2], self.shippable(line))
            if units <= 0:
                return False
            self.shipped[line.line_id] = self.shipped.get(line.line_id, 0) + units
        self.version += 1
        return True

    def snapshot(self) -> OrderSnapshot:
        return OrderSnapshot(
            shop="acme", order_id="1", order_number="1", currency="EUR", buyer=BUYER,
            lines=tuple(replace(li, shipped=self.shipped.get(li.line_id)) for li in self.lines),
            total=self.total,
            total_tax=sum(li.tax for li in self.lines), status=self.status,
            ordering_key=T0 + timedelta(minutes=self.version),
            discounts=tuple(self.discounts), refunds=tuple(self.refunds),
            cancelled=self.cancelled)


def history(lines: tuple[Line, ...], events: list[tuple]) -> tuple[list[OrderSnapshot], Shop]:
    shop = Shop(lines)
    snapshots = [shop.snapshot()]
    for event in events:
        if shop.apply(event):
            snapshots.append(shop.snapshot())
    return snapshots, shop


def articles_left(snapshot: OrderSnapshot) -> int:
    """Article units the buyer keeps after the refunds that name lines (the oracle)."""
    refunded: dict[str, int] = {}
    for refund in snapshot.refunds:
        for rl in refund.lines or ():
            refunded[rl.line_id] = refunded.get(rl.line_id, 0) + rl.quantity
    return sum(max(p.quantity - refunded.get(p.line_id, 0), 0) for p in snapshot.products)


def add(a: RateAmounts, b: RateAmounts, sign: int = 1) -> dict[Decimal, tuple[int, int, int]]:
    """Per-rate (gross, net, tax) of ``a + sign * b``, without all-zero rates."""
    total = {rate: (x.gross, x.net, x.tax) for rate, x in a}
    for rate, x in b:
        g, n, t = total.get(rate, (0, 0, 0))
        total[rate] = (g + sign * x.gross, n + sign * x.net, t + sign * x.tax)
    return {rate: v for rate, v in total.items() if v != (0, 0, 0)}


def rates(by_rate: dict[Decimal, tuple[int, int, int]]) -> RateAmounts:
    return tuple(sorted((rate, Amount(*v)) for rate, v in by_rate.items()))


class Ledger:
    """Folds snapshots through reconcile/apply like the executor, checking invariants.

    Next to the state it keeps its own sums per tax rate of what was authorised, invoiced,
    reduced before invoicing and credited after, to check the pots to the cent in gross, net
    and tax.
    """

    def __init__(self) -> None:
        self.state = OrderState()
        self.keys: set[str] = set()
        self.effects = 0
        self.sums: dict[str, RateAmounts] = {"authorised": (), "activated": (), "reduced": (),
                                             "credited": ()}

    def feed(self, snapshot: OrderSnapshot) -> int:
        decision = reconcile(snapshot, self.state, RULES)
        if decision.stale:
            assert decision.operations == ()
        for op in decision.operations:
            assert op.idempotency_key not in self.keys, "I2: a second effect for one key"
            self.keys.add(op.idempotency_key)
            assert op.amount.net + op.amount.tax == op.amount.gross
            if op.kind is not OperationKind.PLACEMENT:
                assert 0 < op.amount.gross <= self.state.open_amount, "I3: over-credit"
            if op.kind is OperationKind.ACTIVATION:
                assert op.amount.gross <= self.state.unbilled, "activates more than authorised"
            elif op.kind is not OperationKind.PLACEMENT and op.after_activation:
                assert op.amount.gross <= self.state.open_amount - self.state.unbilled, \
                    "a credit note above what the invoices have open"
            elif op.kind is not OperationKind.PLACEMENT:
                assert op.amount.gross <= self.state.unbilled, "reduces more than not invoiced"
            self.count(op)
            before = self.state
            self.state = apply(self.state, op)
            assert self.state.status.rank >= before.status.rank, "I4: moved backwards"
            self.check()
        self.state = mark_seen(self.state, snapshot.ordering_key)
        self.effects += len(decision.operations)
        return len(decision.operations)

    def count(self, op) -> None:
        pot = {OperationKind.PLACEMENT: "authorised", OperationKind.ACTIVATION: "activated"}.get(
            op.kind, "credited" if op.after_activation else "reduced")
        self.sums[pot] = rates(add(self.sums[pot], op.by_rate))

    def check(self) -> None:
        s, sums = self.state, self.sums
        assert 0 <= s.reduced <= s.authorised
        assert 0 <= s.credited <= s.activated <= s.authorised - s.reduced or s.activated == 0
        assert s.unbilled == s.authorised - s.reduced - s.activated or not s.status.is_open
        assert (s.status is Status.AUTHORISED) <= (s.activated == 0)
        assert (s.status is Status.ACTIVE) <= (s.activated > 0)
        unbilled = dict(add(sums["authorised"], sums["activated"], -1))
        unbilled = add(rates(unbilled), sums["reduced"], -1)
        invoiced = add(sums["activated"], sums["credited"], -1)
        assert add(s.unbilled_by_rate, ()) == unbilled, "not invoiced, per rate"
        assert add(s.invoiced_by_rate, ()) == invoiced, "invoiced and open, per rate"
        for pot in (unbilled, invoiced):  # 0 <= unbilled <= open, per rate and part
            assert all(part >= 0 for parts in pot.values() for part in parts), pot
        for line in s.lines.values():
            assert line.cancelled + line.returned <= line.ordered
            assert line.activated + line.cancelled <= line.ordered
            assert line.returned <= line.activated


def fold_one_at_a_time(snapshot: OrderSnapshot, state: OrderState) -> None:
    """Reconciling against the state after each operation gives exactly the others."""
    ops = reconcile(snapshot, state, RULES).operations
    for i, op in enumerate(ops):
        state = apply(state, op)
        assert reconcile(snapshot, state, RULES).operations == ops[i + 1:], i


@settings(max_examples=300, deadline=None)
@given(carts(), HISTORIES)
def test_in_order_history_settles_to_the_shop_totals(lines, events):
    snapshots, shop = history(lines, events)
    ledger = Ledger()
    for snapshot in snapshots:
        ledger.feed(snapshot)
        assert ledger.feed(snapshot) == 0, "a duplicate snapshot produced an effect"
    final, state = snapshots[-1], ledger.state
    if shop.cancelled or articles_left(final) == 0 or final.refund_total >= final.total:
        assert state.status in (Status.VOIDED, Status.CREDITED)
        assert state.open_amount == 0
        if state.status is Status.CREDITED:  # the credit notes give back what was invoiced
            assert ledger.sums["credited"] == ledger.sums["activated"]
    elif not shop.increased:
        assert state.open_amount == final.total - final.refund_total
        if shop.status == "completed":
            assert state.status is Status.ACTIVE and state.unbilled == 0
        elif not shop.shipped:
            assert state.status is Status.AUTHORISED
            assert state.unbilled == state.open_amount
        elif shop.shipped_all:
            assert state.unbilled == 0


@settings(max_examples=300, deadline=None)
@given(carts(), HISTORIES, st.randoms(use_true_random=False), st.integers(0, 3))
def test_any_order_and_duplicates_never_double_or_over_credit(lines, events, rnd, copies):
    snapshots, _ = history(lines, events)
    deliveries = snapshots + [rnd.choice(snapshots) for _ in range(copies)]
    rnd.shuffle(deliveries)
    ledger = Ledger()
    newest = None
    for snapshot in deliveries:
        effects = ledger.feed(snapshot)
        if newest is not None and snapshot.ordering_key < newest:
            assert effects == 0, "a stale snapshot produced an effect"
        newest = max(newest or snapshot.ordering_key, snapshot.ordering_key)
    assert ledger.state.credited <= ledger.state.activated
    assert ledger.state.reduced <= ledger.state.authorised


@settings(max_examples=200, deadline=None)
@given(carts(), HISTORIES)
def test_credits_never_exceed_what_was_activated_or_authorised(lines, events):
    snapshots, _ = history(lines, events)
    ledger = Ledger()
    credited = 0
    for snapshot in snapshots:
        decision = reconcile(snapshot, ledger.state, RULES)
        credited += sum(op.amount.gross for op in decision.operations
                        if op.kind not in (OperationKind.PLACEMENT, OperationKind.ACTIVATION))
        ledger.feed(snapshot)
    s = ledger.state
    assert credited == s.reduced + s.credited
    assert credited <= s.authorised


@settings(max_examples=300, deadline=None)
@given(carts(), HISTORIES)
def test_reconciling_after_the_first_operation_decides_the_others(lines, events):
    snapshots, _ = history(lines, events)
    ledger = Ledger()
    for snapshot in snapshots:
        fold_one_at_a_time(snapshot, ledger.state)
        ledger.feed(snapshot)


def test_stale_snapshot_yields_nothing():
    shop = Shop((make_line("p0", LineKind.PRODUCT, 1, 100_00, Decimal("19")),))
    old = shop.snapshot()
    shop.apply(("complete",))
    new = shop.snapshot()
    ledger = Ledger()
    ledger.feed(new)
    decision = reconcile(old, ledger.state, RULES)
    assert decision.stale and decision.operations == ()


def test_same_key_for_the_same_change_whatever_the_path():
    shop = Shop((make_line("p0", LineKind.PRODUCT, 2, 100_00, Decimal("19")),))
    first = shop.snapshot()
    shop.apply(("refund_amount", 10_00))
    second = shop.snapshot()
    direct = reconcile(second, None, RULES).operations
    stepwise = reconcile(second, apply(OrderState(), reconcile(first, None, RULES)
                                       .operations[0]), RULES).operations
    assert direct[-1].idempotency_key == stepwise[-1].idempotency_key
    assert replace(direct[-1], after_activation=False) == stepwise[-1]
