"""Per-buyer credit limits on the instance: what a buyer owes now, and how its limit moves.

A buyer is known across merchants by its identity key (VAT ID, else company, postcode and
country: :func:`identity_key`). Its **exposure** is what is open
of its invoices plus what is authorised and not yet invoiced, in EUR at the policy's rates.
An order is approved when exposure plus the order fit the buyer's limit.

The limit opens at the policy's initial limit with the buyer's first approved order, grows
by ``grow_percent`` after every ``grow_after`` invoices paid on time in a row (up to the
cap), and shrinks by ``shrink_percent`` when a claim is handed over to collection. Every
change is a :class:`~core.ledger.models.LimitChange` with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.context import CreditFacts
from core.ledger.db import among, slices
from core.ledger.models import Buyer, CreditProfile, LimitChange, Order, Receivable
from core.ledger.store import Ledger
from core.money import money_text
from core.receivables.history import ENDED, buyer_receivables, history_of
from core.risk.policy import RiskPolicy, load_policy, to_eur

__all__ = ["claim_handed_over", "credit_facts", "grown_limit", "identity_key", "open_profile",
           "payment_settled", "payments_settled", "profile_of", "set_limit", "shrunk_limit"]

OPEN_ORDER = ("authorised", "active")


def identity_key(vat_id: str | None, company: str | None, postcode: str, country: str) -> str:
    """A company's identity on the instance: its VAT ID, else its name, postcode, country."""
    if vat_id:
        return "vat:" + re.sub(r"[^0-9A-Z]", "", vat_id.upper())
    name = " ".join((company or "").casefold().split())
    return f"name:{country}:{postcode.replace(' ', '')}:{name}"


def _eur(amount: int, currency: str, policy: RiskPolicy) -> Decimal:
    value = to_eur(amount, currency, policy)
    # an order approved at a rate the operator removed since: count it at par, not at zero
    return value if value is not None else Decimal(amount)


def credit_facts(ledger: Ledger, key: str, policy: RiskPolicy, *, today: date,
                 exclude_order: int | None = None) -> CreditFacts:
    """What the instance knows of the buyer ``key``: its payment record with every merchant
    and its exposure in EUR cents (without ``exclude_order``, the order being decided)."""
    buyer_ids = select(Buyer.id).where(Buyer.buyer_key == key)
    rows = buyer_receivables(ledger, buyer_ids)
    history = history_of(rows, today)
    # grouped by status too, and the open ones picked here: a condition on the status
    # would lead SQLite to read every open order of the instance instead of the buyer's
    unbilled = ledger.session.execute(
        select(Order.currency, Order.status,
               func.sum(Order.authorised - Order.reduced - Order.activated))
        .where(Order.buyer_id.in_(buyer_ids), Order.id != (exclude_order or 0))
        .group_by(Order.currency, Order.status)).all()
    owed = [(int(r.open), r.currency) for r in rows
            if r.open > 0 and r.status not in ENDED and r.order_id != exclude_order]
    owed += [(int(amount), currency) for currency, status, amount in unbilled
             if status in OPEN_ORDER and amount > 0]
    exposure = sum((_eur(amount, currency, policy) for amount, currency in owed), Decimal(0))
    return CreditFacts(
        buyer_key=key, invoices_paid=history.invoices_paid, paid_on_time=history.paid_on_time,
        paid_late=history.paid_late, open_overdue=history.open_overdue,
        collection_entries=sum(1 for r in rows if r.status == "handed_over"),
        exposure=int(exposure.to_integral_value(rounding=ROUND_CEILING)))


def profile_of(session: Session, key: str, *, for_update: bool = False) -> CreditProfile | None:
    query = select(CreditProfile).where(CreditProfile.buyer_key == key)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def _change(session: Session, profile: CreditProfile, limit: int, reason: str) -> None:
    previous = profile.limit
    profile.limit = limit
    session.add(LimitChange(profile_id=profile.id, previous=previous, limit=limit,
                            reason=reason))
    session.flush()


def open_profile(ledger: Ledger, key: str, limit: int,
                 reason: str) -> tuple[CreditProfile, bool]:
    """The buyer's profile, locked, opened at ``limit`` on its first approved order; and
    whether this call opened it (``False``: it existed, or another order opened it
    meanwhile)."""
    found = profile_of(ledger.session, key, for_update=True)
    if found is not None:
        return found, False
    try:
        with ledger.session.begin_nested():
            profile = CreditProfile(buyer_key=key, limit=limit, on_time_streak=0)
            ledger.session.add(profile)
            ledger.session.flush()
            ledger.session.add(LimitChange(profile_id=profile.id, previous=None, limit=limit,
                                           reason=reason))
            ledger.session.flush()
    except IntegrityError:  # another order of the buyer opened it meanwhile
        found = profile_of(ledger.session, key, for_update=True)
        assert found is not None
        return found, False
    return profile, True


def set_limit(ledger: Ledger, key: str, limit: int, reason: str) -> CreditProfile:
    """Set a buyer's limit by hand (an operator's decision), with the reason given."""
    profile = profile_of(ledger.session, key, for_update=True) or \
        open_profile(ledger, key, limit, reason)[0]
    if profile.limit != limit:
        _change(ledger.session, profile, limit, reason)
    return profile


def grown_limit(limit: int, policy: RiskPolicy) -> int:
    """``limit`` grown by the policy's percentage, rounded down to the cent, never above the
    cap (nor below ``limit``: a limit set above the cap by hand stays)."""
    grown = Decimal(limit) * (100 + policy.grow_percent) / 100
    return max(limit, min(policy.limit_cap, int(grown.to_integral_value(rounding=ROUND_DOWN))))


def shrunk_limit(limit: int, policy: RiskPolicy) -> int:
    """``limit`` less the policy's shrink percentage, rounded down to the cent."""
    shrunk = Decimal(limit) * (100 - policy.shrink_percent) / 100
    return int(shrunk.to_integral_value(rounding=ROUND_DOWN))


def _profile_for(session: Session, receivable: Receivable) -> CreditProfile | None:
    """The credit profile of the buyer of ``receivable``, locked (``None``: none opened)."""
    key = session.scalar(select(Buyer.buyer_key).join(Order, Order.buyer_id == Buyer.id)
                         .where(Order.id == receivable.order_id))
    return profile_of(session, key, for_update=True) if key else None


def payment_settled(session: Session, receivable: Receivable, paid_on: date) -> None:
    """A payment settled ``receivable``: on time it counts towards growth (the limit grows
    at every ``grow_after``-th in a row); late, the count starts again."""
    profile = _profile_for(session, receivable)
    if profile is not None:
        _count_payment(session, profile, receivable, paid_on,
                       lambda: load_policy(Ledger(session)))


def payments_settled(session: Session,
                     settled: Sequence[tuple[Receivable, int | None, date]]) -> None:
    """:func:`payment_settled` for many ``(receivable, buyer id, paid on)`` in their order
    (``None``: the buyer of the receivable's order, read): the buyers' keys and profiles
    read and locked in a few queries (in key order), the policy read once."""
    buyer_of = {receivable.order_id: buyer_id for receivable, buyer_id, _ in settled}
    unknown = sorted(order_id for order_id, buyer_id in buyer_of.items() if buyer_id is None)
    for part in slices(unknown):
        buyer_of.update(session.execute(select(Order.id, Order.buyer_id).where(
            among(session, Order.id, part))).all())
    buyer_ids = sorted({b for b in buyer_of.values() if b is not None})
    key_of: dict[int, str | None] = {}
    for part in slices(buyer_ids):
        key_of.update(session.execute(select(Buyer.id, Buyer.buyer_key).where(
            among(session, Buyer.id, part))).all())
    keys = sorted({key for key in key_of.values() if key})
    profiles: dict[str, CreditProfile] = {}
    for part in slices(keys):
        profiles.update((p.buyer_key, p) for p in session.scalars(
            select(CreditProfile).where(among(session, CreditProfile.buyer_key,
                                             part))
            .order_by(CreditProfile.buyer_key).with_for_update()))
    policy: list[RiskPolicy] = []

    def loaded() -> RiskPolicy:
        if not policy:
            policy.append(load_policy(Ledger(session)))
        return policy[0]

    for receivable, _, paid_on in settled:
        buyer_id = buyer_of.get(receivable.order_id)
        key = key_of.get(buyer_id) if buyer_id is not None else None
        profile = profiles.get(key) if key else None
        if profile is not None:
            _count_payment(session, profile, receivable, paid_on, loaded)


def _count_payment(session: Session, profile: CreditProfile, receivable: Receivable,
                   paid_on: date, policy_of: Callable[[], RiskPolicy]) -> None:
    if paid_on > receivable.due_on:
        profile.on_time_streak = 0
        return
    policy = policy_of()
    profile.on_time_streak += 1
    if profile.on_time_streak < policy.grow_after:
        return
    profile.on_time_streak = 0
    limit = grown_limit(profile.limit, policy)
    if limit > profile.limit:
        _change(session, profile, limit,
                f"grew {policy.grow_percent} % after {policy.grow_after} invoices paid on "
                f"time in a row (the last on {paid_on.isoformat()})"
                + (f", capped at {money_text(policy.limit_cap, 'EUR')}"
                   if limit == policy.limit_cap else ""))


def claim_handed_over(session: Session, receivable: Receivable, invoice_number: str) -> None:
    """A claim went to the collection partner: the buyer's limit shrinks per the policy."""
    profile = _profile_for(session, receivable)
    if profile is None:
        return
    policy = load_policy(Ledger(session))
    profile.on_time_streak = 0
    limit = shrunk_limit(profile.limit, policy)
    if limit < profile.limit:
        _change(session, profile, limit, f"shrank {policy.shrink_percent} % after "
                f"{invoice_number} was handed over to collection")
