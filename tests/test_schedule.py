"""The dunning decision and the law's charges, without a database (property-based)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigurationError
from core.receivables.law import GermanLaw, default_on
from core.receivables.policy import Action, Policy, default_policy
from core.receivables.schedule import ReceivableView, decide, notice_kind, timeline

DAY0 = date(2026, 3, 2)


def simulate(view: ReceivableView, policy: Policy, days: int, *, runs_per_day: int = 1,
             missed: frozenset[int] = frozenset()) -> dict[str, date]:
    """Run the decision day by day as the tick would; return the steps taken."""
    taken: dict[str, date] = {}
    skipped: set[str] = set()
    next_on: date | None = view.issued_on
    for n in range(days + 1):
        today = DAY0 + timedelta(days=n)
        if n in missed or next_on is None or next_on > today:
            continue
        for _ in range(runs_per_day):
            current = ReceivableView(view.purchased_on, view.issued_on, view.due_on,
                                     view.open_amount, installment=view.installment,
                                     taken=dict(taken), skipped=frozenset(skipped))
            decision = decide(current, policy, today)
            skipped |= {p.step.id for p in decision.skip}
            if decision.take is not None:
                assert decision.take.step.id not in taken
                taken[decision.take.step.id] = today
            next_on = decision.next_on
            if decision.take is not None and decision.take.step.action.is_final:
                return taken
            if next_on is None or next_on > today:
                break
    return taken


def view(issued: int = 0, term: int = 30, installment: bool = False) -> ReceivableView:
    return ReceivableView(purchased_on=DAY0, issued_on=DAY0 + timedelta(days=issued),
                          due_on=DAY0 + timedelta(days=issued + term), open_amount=119000,
                          installment=installment)


def days(taken: dict[str, date]) -> dict[str, int]:
    return {step: (day - DAY0).days for step, day in taken.items()}


def test_the_documented_timeline():
    assert days(simulate(view(term=14), default_policy(), 60)) == {
        "call": 1, "reminder": 5, "letter_1": 10, "letter_2": 20, "handover": 30}


def test_no_announcing_letter_before_the_due_date_and_no_hand_over_before_its_deadline():
    # a 30-day term: the day-20 letter would threaten a claim not yet due; it waits for the
    # day after the due date, and the hand-over for the 7 days it gives to pass
    assert days(simulate(view(term=30), default_policy(), 60)) == {
        "call": 1, "reminder": 5, "letter_1": 10, "letter_2": 31, "handover": 39}
    assert days(simulate(view(term=45), default_policy("cancel"), 60)) == {
        "call": 1, "reminder": 5, "letter_1": 10, "letter_2": 46, "cancel": 54}


def test_a_notice_on_or_before_the_due_date_is_worded_as_a_payment_coming_up():
    due = DAY0 + timedelta(days=30)
    assert notice_kind(Action.REMIND, due, due) == "upcoming"
    assert notice_kind(Action.ANNOUNCE, due - timedelta(days=10), due) == "upcoming"
    assert notice_kind(Action.REMIND, due + timedelta(days=1), due) == "reminder"
    assert notice_kind(Action.ANNOUNCE, due + timedelta(days=1), due) == "final"
    assert notice_kind(Action.CANCEL, due + timedelta(days=9), due) == "cancellation"


def test_an_invoice_issued_late_moves_the_timeline_with_its_spacing():
    assert days(simulate(view(issued=3, term=14), default_policy(), 60)) == {
        "call": 3, "reminder": 7, "letter_1": 12, "letter_2": 22, "handover": 32}


def test_days_without_a_run_are_caught_up_one_step_a_day():
    taken = simulate(view(term=14), default_policy(), 60, missed=frozenset(range(4, 12)))
    assert days(taken) == {"call": 1, "reminder": 12, "letter_1": 13, "letter_2": 20,
                           "handover": 30}


def test_a_reminder_before_the_due_date_is_skipped_once_it_passed():
    late = view(issued=12, term=3, installment=True)  # due on day 15, upcoming on day 10
    assert days(simulate(late, default_policy(), 60))["installment_upcoming"] == 12
    down = simulate(late, default_policy(), 60, missed=frozenset(range(12, 16)))
    assert "installment_upcoming" not in down and days(down)["call"] == 16


@settings(max_examples=200, deadline=None)
@given(issued=st.integers(0, 20), term=st.integers(1, 60), installment=st.booleans(),
       final=st.sampled_from(["collection", "cancel"]), runs=st.integers(1, 3),
       missed=st.frozensets(st.integers(0, 90), max_size=20))
def test_every_step_once_in_order_one_a_day_and_the_end_after_the_due_date(
        issued, term, installment, final, runs, missed):
    policy = default_policy(final)
    r = view(issued, term, installment)
    taken = simulate(r, policy, 200, runs_per_day=runs, missed=missed)
    order = [p.step.id for p in timeline(r, policy)]
    assert list(taken) == [step for step in order if step in taken]  # in order
    assert len(set(taken.values())) == len(taken)  # one a day
    assert all(day >= r.issued_on for day in taken.values())  # never before the invoice
    last = policy.steps[-1].id
    assert last in taken  # the procedure ends
    assert taken[last] > r.due_on
    # the announcing letter only for an overdue claim, the end not before its deadline
    assert taken["letter_2"] > r.due_on
    assert taken[last] > max(r.due_on, taken["letter_2"] + timedelta(days=7))
    required = {"call", "reminder", "letter_1", "letter_2"}
    assert required <= set(taken)  # only the pre-due reminder can be skipped


def test_nothing_happens_to_a_settled_or_stopped_receivable():
    r = view()
    for status, amount in (("settled", 0), ("stopped", 119000), ("open", 0)):
        stopped = ReceivableView(r.purchased_on, r.issued_on, r.due_on, amount, status=status)
        assert decide(stopped, default_policy(), DAY0 + timedelta(days=40)).take is None


# -- the law ------------------------------------------------------------------------------


def test_default_starts_the_day_after_a_reminder_after_the_due_date_or_after_31_days():
    due = date(2026, 3, 9)
    assert default_on(due, [date(2026, 3, 7)]) == date(2026, 4, 9)  # before due: no effect
    assert default_on(due, [date(2026, 3, 7), date(2026, 3, 12)]) == date(2026, 3, 13)
    assert default_on(due, []) == date(2026, 4, 9)


@given(principal=st.integers(1, 10**9), start=st.integers(0, 400), length=st.integers(0, 400))
def test_interest_is_exact_and_never_before_default(principal, start, length):
    law = GermanLaw({"2026-07-01": "1.27", "2027-01-01": "2.27"})
    begin = date(2025, 7, 1) + timedelta(days=start)
    charges = law.charges(principal=principal, currency="EUR", in_default_from=begin,
                          on=begin + timedelta(days=length))
    if length == 0:
        assert (charges.fee, charges.interest) == (0, 0)
        return
    assert charges.fee == 4000
    rates = [law.base_rate(begin + timedelta(days=d)) for d in range(length)]
    expected = sum(Decimal(principal) * (rate + 9) / 100 / 365  # unknown half years: none
                   for rate in rates if rate is not None)
    assert abs(charges.interest - expected) <= Decimal("0.5") + Decimal("1e-9")


def test_no_interest_for_a_half_year_without_a_known_base_rate(caplog):
    law = GermanLaw()  # knows 2025-07-01 and 2026-01-01 only
    charges = law.charges(principal=100000, currency="EUR", in_default_from=date(2026, 6, 21),
                          on=date(2026, 7, 11))
    assert charges.interest == int((Decimal(100000) * Decimal("10.27") / 100 * 10 / 365)
                                   .quantize(Decimal(1)))  # June only
    assert "2026-07-01" in caplog.text


def test_base_rates_from_the_configuration_are_checked():
    with pytest.raises(ConfigurationError, match="1 January and 1 July"):
        GermanLaw({"2026-08-01": "1.5"})
    with pytest.raises(ConfigurationError, match="must be a date"):
        GermanLaw({"soon": "1.5"})


def test_policies_are_checked_and_name_the_field():
    with pytest.raises(ConfigurationError, match=r"steps\[0\]\.anchor"):
        Policy.from_json({"steps": [{"id": "x", "anchor": "never", "offset_days": 1,
                                     "channel": "email", "action": "remind"}]})
    with pytest.raises(ConfigurationError, match="last step"):
        Policy.from_json({"steps": [
            {"id": "h", "anchor": "purchase", "offset_days": 30, "channel": "none",
             "action": "handover"},
            {"id": "r", "anchor": "purchase", "offset_days": 40, "channel": "email",
             "action": "remind"}]})
    assert Policy.from_json(default_policy("cancel").to_json()) == default_policy("cancel")
    for action, offset in (("announce", 0), ("announce", -3), ("handover", 0), ("cancel", -1)):
        with pytest.raises(ConfigurationError, match="needs an overdue claim"):
            Policy.from_json({"steps": [{"id": "x", "anchor": "due", "offset_days": offset,
                                         "channel": "letter" if action == "announce"
                                         else "none", "action": action}]})
    Policy.from_json({"steps": [{"id": "x", "anchor": "due", "offset_days": -3,
                                 "channel": "letter", "action": "remind"},
                                {"id": "y", "anchor": "due", "offset_days": 1,
                                 "channel": "letter", "action": "announce"}]})
