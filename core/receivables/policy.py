"""The dunning policy as data: which step happens when, through which channel, doing what.

A step counts ``offset_days`` from an anchor of the receivable: the ``purchase``, the
``invoice`` date, the ``due`` date, or the ``installment_due`` date (an installment's due
date; such steps apply to installments only). Its channel is a ``call`` task (with an
outcome to record), an ``email``, a ``letter`` or ``none``; its action is ``remind``,
``announce`` (the last reminder, announcing the hand-over), ``handover`` (to the collection
partner) or ``cancel`` (the order, as unpaid). A policy ends with at most one hand-over or
cancellation.

No policy can dun a claim that is not yet due: a reminder that falls on or before the due
date is worded as a friendly note of the payment coming up (no charges, no threat), an
announcing letter waits until the day after the due date, a hand-over or cancellation until
the announced deadline has passed (:mod:`core.receivables.schedule`); steps counted from
the due date that announce, hand over or cancel must lie after it.

The default is the documented timeline counted from the purchase: day 1 after-sales call,
day 5 payment reminder by e-mail, day 10 first letter, day 20 second letter announcing the
hand-over, day 30 hand-over to the collection partner (or, where the merchant chose it,
cancellation of the unpaid order), plus an e-mail 5 days before each installment is due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from core.errors import ConfigurationError

__all__ = ["FINAL_CHOICES", "Action", "Anchor", "Channel", "Policy", "Step", "default_policy"]


class Anchor(StrEnum):
    PURCHASE = "purchase"
    INVOICE = "invoice"
    DUE = "due"
    INSTALLMENT_DUE = "installment_due"


DUE_ANCHORS = (Anchor.DUE, Anchor.INSTALLMENT_DUE)


class Channel(StrEnum):
    CALL = "call"
    EMAIL = "email"
    LETTER = "letter"
    NONE = "none"


class Action(StrEnum):
    REMIND = "remind"
    ANNOUNCE = "announce"
    HANDOVER = "handover"
    CANCEL = "cancel"

    @property
    def is_final(self) -> bool:
        return self in (Action.HANDOVER, Action.CANCEL)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a policy; ``id`` names it in the ledger (taken at most once each)."""

    id: str
    anchor: Anchor
    offset_days: int
    channel: Channel
    action: Action

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, StrEnum) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class Policy:
    """The steps of a merchant's receivables management, in the order they are listed."""

    steps: tuple[Step, ...]

    @property
    def final(self) -> Action | None:
        """What ends the procedure: hand-over, cancellation, or nothing."""
        return next((s.action for s in self.steps if s.action.is_final), None)

    def to_json(self) -> dict[str, Any]:
        return {"steps": [step.to_json() for step in self.steps]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Policy:
        """Read and check a policy; errors name the step and field."""
        raw = data.get("steps") if isinstance(data, Mapping) else None
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
            raise ConfigurationError("a dunning policy needs a non-empty list 'steps'")
        steps = []
        for n, item in enumerate(raw):
            where = f"steps[{n}]"
            if not isinstance(item, Mapping):
                raise ConfigurationError(f"{where} must be an object")
            unknown = sorted(set(item) - {"id", "anchor", "offset_days", "channel", "action"})
            if unknown:
                raise ConfigurationError(f"{where}: unknown field(s) {', '.join(unknown)}")
            step_id = item.get("id")
            if not isinstance(step_id, str) or not 0 < len(step_id) <= 32:
                raise ConfigurationError(f"{where}.id must be a name of 1 to 32 characters")
            offset = item.get("offset_days")
            if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > 365:
                raise ConfigurationError(f"{where}.offset_days must be a whole number of days "
                                         "between -365 and 365")
            steps.append(Step(step_id, _member(Anchor, item, "anchor", where), offset,
                              _member(Channel, item, "channel", where),
                              _member(Action, item, "action", where)))
        policy = cls(tuple(steps))
        _check(policy)
        return policy


def _member(enum: type[StrEnum], item: Mapping[str, Any], name: str, where: str) -> Any:
    try:
        return enum(item.get(name))
    except ValueError:
        choices = ", ".join(m.value for m in enum)
        raise ConfigurationError(f"{where}.{name} must be one of {choices}") from None


def _check(policy: Policy) -> None:
    ids = [s.id for s in policy.steps]
    if len(set(ids)) != len(ids):
        raise ConfigurationError("dunning policy step ids must be unique")
    finals = [n for n, s in enumerate(policy.steps) if s.action.is_final]
    if len(finals) > 1:
        raise ConfigurationError("a dunning policy ends with one hand-over or cancellation, "
                                 "not several")
    if finals and finals[0] != len(policy.steps) - 1:
        raise ConfigurationError("the hand-over or cancellation must be the last step")
    for step in policy.steps:
        if step.channel is Channel.CALL and step.action is not Action.REMIND:
            raise ConfigurationError(f"step {step.id!r}: a call can only remind")
        if step.action is not Action.REMIND and step.anchor in DUE_ANCHORS \
                and step.offset_days < 1:
            raise ConfigurationError(
                f"step {step.id!r}: a {step.action.value} needs an overdue claim; count it "
                "from the due date with offset_days of 1 or more (before the due date only "
                "reminders are sent, worded as a note of the payment coming up)")


FINAL_CHOICES = ("collection", "cancel")


def default_policy(final: str = "collection") -> Policy:
    """The documented timeline; ``final`` is the merchant's choice of what ends it:
    ``collection`` (hand-over, the default) or ``cancel`` (cancellation after 30 days)."""
    if final not in FINAL_CHOICES:
        raise ConfigurationError(f"the final step is one of {', '.join(FINAL_CHOICES)}")
    last = (Step("handover", Anchor.PURCHASE, 30, Channel.NONE, Action.HANDOVER)
            if final == "collection"
            else Step("cancel", Anchor.PURCHASE, 30, Channel.EMAIL, Action.CANCEL))
    return Policy((
        Step("call", Anchor.PURCHASE, 1, Channel.CALL, Action.REMIND),
        Step("reminder", Anchor.PURCHASE, 5, Channel.EMAIL, Action.REMIND),
        Step("installment_upcoming", Anchor.INSTALLMENT_DUE, -5, Channel.EMAIL, Action.REMIND),
        Step("letter_1", Anchor.PURCHASE, 10, Channel.LETTER, Action.REMIND),
        Step("letter_2", Anchor.PURCHASE, 20, Channel.LETTER, Action.ANNOUNCE),
        last,
    ))
