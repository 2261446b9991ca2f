"""Where a dunning step is decided: a pure function of the receivable, its policy and the day.

The steps' days come from the policy's anchors, with three rules:

* **the clock starts with the invoice**: when the invoice is issued after the day of the
  first step counted from the purchase (an order activated late), those steps all move by
  the delay, keeping their spacing;
* **no dunning notice for a claim not yet due**: the announcing letter (the last reminder,
  which threatens the hand-over) goes out the day after the due date at the earliest, and
  a reminder taken on or before the due date is worded as a friendly note of the payment
  coming up (:func:`notice_kind`), with no charges;
* **no hand-over or cancellation before the due date has passed**, nor before the deadline
  the announcing letter set (``PAY_WITHIN`` after it, at the earliest the due date) passed;
* **one step a day**: when several steps are due (the tick did not run for days), the
  first is taken and the next follows on a later day; a reminder meant for before the due
  date that has not gone out by then is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

from core.receivables.policy import Action, Anchor, Policy, Step

__all__ = ["PAY_WITHIN", "Decision", "Planned", "ReceivableView", "decide", "notice_kind",
           "timeline"]

ONE_DAY = timedelta(days=1)
PAY_WITHIN = timedelta(days=7)  # the deadline a reminder sets, at the earliest the due date


@dataclass(frozen=True, slots=True)
class ReceivableView:
    """What the decision needs of a receivable: ``taken`` maps the ids of the steps taken
    to their day; ``skipped`` holds the ids of steps skipped."""

    purchased_on: date
    issued_on: date
    due_on: date
    open_amount: int
    status: str = "open"
    installment: bool = False
    taken: Mapping[str, date] = field(default_factory=lambda: MappingProxyType({}))
    skipped: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Planned:
    step: Step
    on: date


@dataclass(frozen=True, slots=True)
class Decision:
    """The step to take today (if any), the steps to record as skipped, and the next day
    the receivable needs looking at (``None``: never again, unless something changes)."""

    take: Planned | None = None
    skip: tuple[Planned, ...] = ()
    next_on: date | None = None


def _anchor_day(r: ReceivableView, anchor: Anchor) -> date | None:
    if anchor is Anchor.PURCHASE:
        return r.purchased_on
    if anchor is Anchor.INVOICE:
        return r.issued_on
    if anchor is Anchor.DUE:
        return r.due_on
    return r.due_on if r.installment else None


def _before_due(step: Step) -> bool:
    return step.anchor in (Anchor.DUE, Anchor.INSTALLMENT_DUE) and step.offset_days < 0


def timeline(r: ReceivableView, policy: Policy) -> tuple[Planned, ...]:
    """Every step of ``policy`` that applies to ``r``, with its day, in the order taken."""
    nominal = []
    for n, step in enumerate(policy.steps):
        anchor = _anchor_day(r, step.anchor)
        if anchor is not None:
            nominal.append((anchor + timedelta(days=step.offset_days), n, step))
    early = [day for day, _, step in nominal if step.anchor is Anchor.PURCHASE]
    delay = max(r.issued_on - min(early), timedelta(0)) if early else timedelta(0)
    announced = [r.taken[s.id] for s in policy.steps
                 if s.action is Action.ANNOUNCE and s.id in r.taken]
    planned = []
    for day, n, step in nominal:
        if step.anchor is Anchor.PURCHASE:
            day += delay
        if step.action is Action.ANNOUNCE:
            day = max(day, r.due_on + ONE_DAY)
        if step.action.is_final:
            deadlines = [max(r.due_on, a + PAY_WITHIN) for a in announced]
            day = max(day, r.due_on + ONE_DAY, *(d + ONE_DAY for d in deadlines))
        planned.append((day, n, step))
    return tuple(Planned(step, day) for day, _, step in sorted(planned, key=lambda p: p[:2]))


def decide(r: ReceivableView, policy: Policy, today: date) -> Decision:
    """What the tick does with ``r`` on ``today``; see the module docstring."""
    if r.status != "open" or r.open_amount <= 0:
        return Decision()
    waiting = [p for p in timeline(r, policy)
               if p.step.id not in r.taken and p.step.id not in r.skipped]
    skip = tuple(p for p in waiting if _before_due(p.step) and today >= r.due_on)
    waiting = [p for p in waiting if p not in skip]
    if not waiting:
        return Decision(skip=skip)
    first, later = waiting[0], waiting[1:]
    if first.on > today:
        return Decision(skip=skip, next_on=first.on)
    if today in r.taken.values():  # one step a day
        return Decision(skip=skip, next_on=today + ONE_DAY)
    if first.step.action.is_final or not later:
        return Decision(take=first, skip=skip)
    return Decision(take=first, skip=skip, next_on=max(later[0].on, today + ONE_DAY))


def notice_kind(action: Action, day: date, due_on: date) -> str:
    """How a step's notice is worded: ``cancellation``; ``upcoming`` (a friendly note of the
    payment coming up, never a dunning notice: the claim is not overdue before the day
    after its due date); else ``final`` for the announcing letter, ``reminder`` for the
    others."""
    if action is Action.CANCEL:
        return "cancellation"
    if day <= due_on:
        return "upcoming"
    return "final" if action is Action.ANNOUNCE else "reminder"
