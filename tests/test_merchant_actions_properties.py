"""Properties of the merchant's own actions (core.reconcile.merchant_operations): a
reduction takes exactly what is asked, at most what is open, to the cent per tax rate."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.money import Amount
from core.reconcile import Rules, merchant_operations, reconcile
from core.schemas import load_snapshot
from core.state import OrderState, apply
from orders import order_data

RULES = Rules.from_mapping({"completed": "activate", "cancelled": "cancel"})


def settled(status: str) -> tuple:
    """The order's snapshot and the ledger state after the shop's operations ran."""
    snapshot = load_snapshot(order_data(status=status, discounts=[]))
    state = OrderState()
    for _ in range(5):
        decision = reconcile(snapshot, state, RULES)
        if not decision.operations:
            break
        for op in decision.operations:
            state = apply(state, op)
    return snapshot, state


@given(st.integers(min_value=1, max_value=200_000), st.booleans(), st.integers(0, 3))
def test_a_reduction_takes_exactly_what_is_asked_at_most_what_is_open(gross, activated,
                                                                      earlier):
    snapshot, state = settled("completed" if activated else "processing")
    for n in range(earlier):  # earlier reductions of 10.00 each
        for op in merchant_operations(snapshot, state, "reduce", gross=1000, source=f"e{n}"):
            state = apply(state, op)
    before = state.open_amount
    operations = merchant_operations(snapshot, state, "reduce", gross=gross, source="x")
    taken = sum(op.amount.gross for op in operations)
    assert taken == min(gross, before)
    for op in operations:
        assert sum((a for _, a in op.by_rate), Amount.zero()) == op.amount
        assert op.after_activation is activated
        state = apply(state, op)
    assert state.open_amount == before - taken
    assert all(a.gross >= 0 and a.net >= 0 and a.tax >= 0 for _, a in state.open_by_rate)
