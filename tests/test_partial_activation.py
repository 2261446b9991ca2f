"""Partial activation: shipped units are invoiced on their own; the rest of the order stays
authorised but not invoiced until it is shipped, activated, cancelled or reduced.

Pure: snapshots are reconciled against the ledger state and the operations applied, one at a
time, as the executor does; no database.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from core.money import Amount
from core.operations import OperationKind
from core.reconcile import MAX_SOURCE, Rules, reconcile
from core.schemas import load_snapshot
from core.state import OrderState, Status, apply, mark_seen
from orders import order_data

RULES = Rules.from_mapping({"completed": "activate", "cancelled": "cancel"})
R19, R7 = Decimal("19"), Decimal("7")
# chairs 357.00 and shipping 11.90 at 19 %, paper 53.50 at 7 %: 422.40 in all
LINES = [("1", "product", "Office chair", 2, "300.00", "19"),
         ("2", "product", "Printer paper A4", 10, "50.00", "7"),
         ("ship", "shipping", "DHL Paket", 1, "10.00", "19")]
CHAIRS_DISCOUNTED = {"line_id": "1", "kind": "product", "name": "Office chair", "quantity": 2,
                     "net": "215.97", "tax": "41.03", "gross": "257.00", "tax_rate": "19"}


def snapshot(minutes: int = 0, *, shipped: dict[str, int] | None = None, lines=LINES,
             discounts=(), **changes):
    data = order_data(lines=lines, discounts=list(discounts), minutes=minutes, **changes)
    for line in data["lines"]:
        line["shipped"] = (shipped or {}).get(line["line_id"])
    return load_snapshot(data)


def run(snap, state):
    """Decide and apply one operation at a time, as the executor does."""
    state = state or OrderState()
    ops = reconcile(snap, state, RULES).operations
    for i, op in enumerate(ops):
        state = apply(state, op)
        assert reconcile(snap, state, RULES).operations == ops[i + 1:]
    return ops, mark_seen(state, snap.ordering_key)


def placed(**changes):
    return run(snapshot(**changes), None)[1]


def amounts(op):
    return op.amount.gross, op.amount.net, op.amount.tax


def lines_of(op):
    return [(ol.line_id, ol.quantity, ol.amount) for ol in op.lines]


def test_shipping_one_of_two_lines_invoices_it_and_the_shipping():
    state = placed()
    ships = snapshot(10, shipped={"1": 2})
    (op,), state = run(ships, state)
    assert op.kind is OperationKind.ACTIVATION and not op.after_activation
    assert op.source == "shipment:1=2"
    assert lines_of(op) == [("1", 2, 357_00), ("ship", 1, 11_90)]
    assert op.by_rate == ((R19, Amount(368_90, 310_00, 58_90)),)
    assert state.status is Status.ACTIVE and state.activated == 368_90
    assert state.unbilled_by_rate == ((R7, Amount(53_50, 50_00, 3_50)),)
    assert state.open_amount == 422_40  # invoiced 368.90 and not yet invoiced 53.50
    assert {k: v.activated for k, v in state.lines.items()} == {"1": 2, "2": 0, "ship": 1}
    assert reconcile(ships, state, RULES).operations == ()  # the same snapshot again


def test_return_then_cancel_of_the_rest_then_activate_status():
    state = placed()
    _, state = run(snapshot(10, shipped={"1": 2}), state)

    one_chair = [{"refund_id": "r1", "amount": "178.50",
                  "lines": [{"line_id": "1", "quantity": 1, "amount": "178.50"}]}]
    (op,), state = run(snapshot(20, shipped={"1": 2}, refunds=one_chair), state)
    assert op.kind is OperationKind.RETURN and op.after_activation
    assert (op.source, op.refund_id, lines_of(op)) == ("refund:r1", "r1", [("1", 1, 178_50)])
    assert amounts(op) == (178_50, 150_00, 28_50)
    assert state.unbilled == 53_50 and state.open_amount == 243_90
    assert state.lines["1"].returned == 1

    cancelled = snapshot(30, shipped={"1": 2}, refunds=one_chair, status="cancelled")
    rest, invoices = reconcile(cancelled, state, RULES).operations
    assert rest.kind is OperationKind.FULL_CREDIT and not rest.after_activation
    assert rest.source == "full_credit:unbilled"
    assert rest.by_rate == state.unbilled_by_rate  # exactly what is not yet invoiced
    rest_cancelled = apply(state, rest)
    assert rest_cancelled.status is Status.ACTIVE
    assert rest_cancelled.unbilled_by_rate == () and rest_cancelled.open_amount == 190_40
    assert rest_cancelled.lines["2"].cancelled == 10
    assert invoices.kind is OperationKind.FULL_CREDIT and invoices.after_activation
    assert (invoices.source, amounts(invoices)) == ("full_credit", (190_40, 160_00, 30_40))
    assert apply(rest_cancelled, invoices).status is Status.CREDITED

    # the rest cancelled (as the provider reports it), the shop then completes the order
    completed = snapshot(40, shipped={"1": 2}, refunds=one_chair, status="completed")
    assert reconcile(completed, rest_cancelled, RULES).operations == ()


def _returned(refund):
    state = placed()
    _, state = run(snapshot(10, shipped={"1": 2, "2": 10, "ship": 1}), state)
    (op,), _ = run(snapshot(20, shipped={"1": 2, "2": 10, "ship": 1}, refunds=[refund]),
                   state)
    assert op.kind is OperationKind.RETURN
    return op


def test_a_return_credits_the_amount_the_shop_refunded_for_lines_it_valued_so():
    # a shop that refunds a chair after its share of a promotion (the chair's line is worth
    # 178.50 before the order's promotion lines): its amount is the credit, not a cent more
    op = _returned({"refund_id": "r1", "amount": "160.66",
                    "lines": [{"line_id": "1", "quantity": 1, "amount": "160.66"}]})
    assert amounts(op)[0] == 160_66
    assert lines_of(op) == [("1", 1, 178_50)]  # the line's own value, for the provider


def test_a_return_fee_the_shop_kept_is_not_charged_to_the_buyer():
    # the shop values the chair at 178.50 and refunds 170.00, keeping 8.50 return shipping
    op = _returned({"refund_id": "r1", "amount": "170.00",
                    "lines": [{"line_id": "1", "quantity": 1, "amount": "178.50"}]})
    assert amounts(op)[0] == 178_50


def test_a_refund_above_the_lines_value_is_credited_whole():
    op = _returned({"refund_id": "r1", "amount": "190.40",
                    "lines": [{"line_id": "1", "quantity": 1, "amount": "178.50"}]})
    assert amounts(op)[0] == 190_40


def test_shipments_invoice_the_units_shipped_each_time_and_the_last_the_rest():
    state = placed()
    (first,), state = run(snapshot(10, shipped={"2": 4}), state)
    assert lines_of(first) == [("2", 4, 21_40), ("ship", 1, 11_90)]
    assert first.by_rate == ((R7, Amount(21_40, 20_00, 1_40)),
                             (R19, Amount(11_90, 10_00, 1_90)))
    (second,), state = run(snapshot(20, shipped={"1": 1, "2": 7}), state)
    assert second.source == "shipment:1=1,2=7" and second.after_activation
    assert lines_of(second) == [("1", 1, 178_50), ("2", 3, 16_05)]
    (last,), state = run(snapshot(30, shipped={"1": 2, "2": 10}), state)
    assert lines_of(last) == [("1", 1, 178_50), ("2", 3, 16_05)]
    assert state.unbilled_by_rate == () and state.activated == 422_40
    assert sum(op.amount.gross for op in (first, second, last)) == 422_40


def test_activate_status_invoices_whatever_is_not_yet_invoiced():
    state = placed()
    _, state = run(snapshot(10, shipped={"1": 2}), state)
    (op,), state = run(snapshot(20, shipped={"1": 2}, status="completed"), state)
    assert op.kind is OperationKind.ACTIVATION and op.source == "activation"
    assert op.after_activation  # the order has an invoice already
    assert lines_of(op) == [("2", 10, 53_50)]
    assert amounts(op) == (53_50, 50_00, 3_50)
    assert state.unbilled_by_rate == () and state.lines["2"].activated == 10
    assert reconcile(snapshot(30, shipped={"1": 2}, status="completed"), state,
                     RULES).operations == ()


def test_a_refund_of_shipped_and_unshipped_units_is_split_between_the_pots():
    state = placed()
    _, state = run(snapshot(10, shipped={"1": 2, "2": 4}), state)
    all_paper = [{"refund_id": "r1", "amount": "53.50",
                  "lines": [{"line_id": "2", "quantity": 10, "amount": "53.50"}]}]
    returned, cancelled = reconcile(snapshot(20, shipped={"1": 2, "2": 4}, refunds=all_paper),
                                    state, RULES).operations
    assert returned.kind is OperationKind.RETURN and returned.after_activation
    assert (returned.source, lines_of(returned)) == ("refund:r1", [("2", 4, 21_40)])
    assert amounts(returned) == (21_40, 20_00, 1_40)
    assert returned.refund_id.startswith("part:")  # the refund is not seen yet
    assert cancelled.kind is OperationKind.PARTIAL_CREDIT and not cancelled.after_activation
    assert (cancelled.source, cancelled.refund_id) == ("refund:r1:unbilled", "r1")
    assert lines_of(cancelled) == [("2", 6, 32_10)]
    assert amounts(cancelled) == (32_10, 30_00, 2_10)
    _, state = run(snapshot(20, shipped={"1": 2, "2": 4}, refunds=all_paper), state)
    assert state.lines["2"] == replace(state.lines["2"], activated=4, returned=4, cancelled=6)
    assert "r1" in state.refund_ids and state.unbilled == 0


def test_an_amount_refund_takes_the_invoices_first_then_the_rest():
    state = placed()
    _, state = run(snapshot(10, shipped={"1": 2}), state)
    refund = [{"refund_id": "r1", "amount": "400.00"}]
    (invoiced, rest), state = run(snapshot(20, shipped={"1": 2}, refunds=refund), state)
    assert (invoiced.kind, invoiced.after_activation, invoiced.source) == (
        OperationKind.PARTIAL_CREDIT, True, "refund:r1")
    assert amounts(invoiced) == (368_90, 310_00, 58_90)
    assert (rest.kind, rest.after_activation, rest.source, rest.refund_id) == (
        OperationKind.PARTIAL_CREDIT, False, "refund:r1:unbilled", "r1")
    assert rest.amount.gross == 31_10 and rest.by_rate[0][0] == R7
    assert state.status is Status.ACTIVE and state.open_amount == 22_40 == state.unbilled


def test_a_discount_beyond_the_invoices_is_transferred_in_two_parts():
    state = placed()
    _, state = run(snapshot(10, shipped={"2": 10}), state)  # paper and shipping: 65.40
    discounted = snapshot(20, shipped={"2": 10}, lines=[CHAIRS_DISCOUNTED, *LINES[1:]],
                          discounts=[{"code": "SORRY", "amount": "100.00"}])
    decision = reconcile(discounted, state, RULES)
    assert decision.refusals == ()
    invoiced, rest = decision.operations
    assert (invoiced.kind, invoiced.after_activation) == (OperationKind.DISCOUNT_TRANSFER, True)
    assert (invoiced.amount.gross, invoiced.discount_total_after,
            invoiced.order_total_after) == (65_40, 65_40, 357_00)
    assert (rest.kind, rest.after_activation, rest.source) == (
        OperationKind.DISCOUNT_TRANSFER, False, "discount:10000:unbilled")
    assert (rest.amount.gross, rest.discount_total_after, rest.order_total_after) == (
        34_60, 100_00, 322_40)
    _, state = run(discounted, state)
    assert state.open_amount == 322_40 == state.unbilled  # the invoice is fully credited


def test_an_edit_removing_unshipped_lines_lowers_what_is_not_yet_invoiced():
    state = placed()
    _, state = run(snapshot(10, shipped={"1": 2}), state)
    without_paper = [LINES[0], LINES[2]]
    (op,), state = run(snapshot(20, shipped={"1": 2}, lines=without_paper), state)
    assert (op.kind, op.after_activation, op.source) == (
        OperationKind.PARTIAL_CREDIT, False, "edit:36890:unbilled")
    assert amounts(op) == (53_50, 50_00, 3_50) and lines_of(op) == [("2", 10, 0)]
    assert state.status is Status.ACTIVE and state.unbilled == 0
    assert state.open_amount == 368_90 and state.lines["2"].cancelled == 10


def test_without_shipped_units_everything_works_as_before():
    state = placed(shipped={"1": 0})
    assert state.status is Status.AUTHORISED and state.unbilled_by_rate == state.open_by_rate
    refund = [{"refund_id": "r1", "amount": "10.00"}]
    (op,), state = run(snapshot(10, refunds=refund), state)
    assert (op.kind, op.after_activation, op.source, op.refund_id) == (
        OperationKind.PARTIAL_CREDIT, False, "refund:r1", "r1")
    assert state.unbilled_by_rate == state.open_by_rate
    (op,), state = run(snapshot(20, refunds=refund, status="completed"), state)
    assert (op.kind, op.source, op.amount.gross) == (OperationKind.ACTIVATION, "activation",
                                                      412_40)
    assert state.unbilled_by_rate == ()


def test_an_activation_recorded_without_lines_activates_every_line():
    state = placed()
    (op,), _ = run(snapshot(10, status="completed"), state)
    activated = apply(state, replace(op, lines=()))
    assert {k: v.activated for k, v in activated.lines.items()} == {"1": 2, "2": 10, "ship": 1}


def test_a_long_shipment_source_is_shortened_to_a_digest():
    lines = [(f"{i:02d}-" + "x" * 40, "product", f"Article {i}", 1, "10.00", "19")
             for i in range(4)]
    data = order_data(lines=lines, discounts=[])
    for line in data["lines"][:3]:
        line["shipped"] = 1
    (_, op), _ = run(load_snapshot(data), None)
    assert op.kind is OperationKind.ACTIVATION and len(lines_of(op)) == 3
    assert op.source.startswith("shipment:#") and len(op.source) <= MAX_SOURCE
