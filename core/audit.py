"""Who did what: the audit record of the back office and of the user commands.

Every office POST (order actions, call outcomes, the dunning choice, payment confirmations,
statement uploads, delivery replays, sign-out), every sign-in and failed sign-in, and the
``invoicekit users`` changes (actor ``cli``) leave one :class:`AuditEvent`. ``actor`` is the
e-mail as signed in or typed, so a row keeps saying who even after the user is removed.
Passwords never reach this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ledger.models import AuditEvent, User
from core.ledger.store import Ledger

__all__ = ["CLI", "OFFICE_SOURCE", "events", "operation_actors", "order_events", "record"]

CLI = "cli"  # the actor of the command line's changes
OFFICE_SOURCE = "office"  # operations.source of an office action: office:<user id>:<nonce>
KIT_SOURCES = ("expiry:", "dunning:")  # closings the kit decides (core.reconcile)
OUTCOMES = ("done", "ok", "failed", "refused", "locked", "error")
MAX_DETAIL = 2000


def _session(target: Ledger | Session) -> Session:
    return target.session if isinstance(target, Ledger) else target


def record(target: Ledger | Session, *, actor: str, action: str, outcome: str,
           merchant_id: int | None = None, user_id: int | None = None,
           order_id: int | None = None, client_address: str | None = None,
           detail: str | None = None) -> AuditEvent:
    """Add one event to the audit record (in the caller's transaction)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    event = AuditEvent(actor=actor.strip()[:254], action=action[:64], outcome=outcome,
                       merchant_id=merchant_id, user_id=user_id, order_id=order_id,
                       client_address=(client_address or None) and client_address[:45],
                       detail=detail[:MAX_DETAIL] if detail else None)
    _session(target).add(event)
    return event


def events(target: Ledger | Session, *, merchant_id: int | None = None,
           actor: str | None = None, order_id: int | None = None,
           since: datetime | None = None, limit: int = 100) -> list[AuditEvent]:
    """Audit events, newest first, filtered by merchant, actor (e-mail, any case), order and
    the time they happened at or after."""
    query = select(AuditEvent)
    if merchant_id is not None:
        query = query.where(AuditEvent.merchant_id == merchant_id)
    if actor:
        query = query.where(func.lower(AuditEvent.actor) == actor.strip().lower())
    if order_id is not None:
        query = query.where(AuditEvent.order_id == order_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    return list(_session(target).scalars(query))


def order_events(target: Ledger | Session, order_id: int,
                 merchant_id: int) -> list[dict[str, Any]]:
    """The order's audit events as timeline entries (``at``, ``what``, ``status``,
    ``detail``, ``by``): those of the order's own merchant's users only."""
    return [{"at": e.at, "what": f"office {e.action}", "status": e.outcome,
             "detail": e.detail or "", "by": e.actor}
            for e in _session(target).scalars(select(AuditEvent).where(
                AuditEvent.order_id == order_id, AuditEvent.merchant_id == merchant_id)
                .order_by(AuditEvent.id))]


def _office_user_id(source: str) -> int | None:
    """The user id in an office operation's source ``office:<user id>:<nonce>``."""
    parts = source.split(":")
    if len(parts) >= 3 and parts[0] == OFFICE_SOURCE and parts[1].isdigit():
        return int(parts[1])
    return None


def operation_actors(target: Ledger | Session, sources: Iterable[str]) -> dict[str, str]:
    """Who made each operation source: the office user's e-mail (from the users, else from
    the audit record once the user is removed), ``office`` for office operations that do not
    name the user (a cancellation), ``provider`` for the provider's events, ``kit`` for
    closings the kit decides itself (expiry, dunning), nothing for an activation (the shop's
    status or the office: the order's audit events tell), else ``shop`` (the shop's
    webhooks and polls)."""
    sources = set(sources)
    ids = {uid for source in sources if (uid := _office_user_id(source)) is not None}
    session = _session(target)
    emails: dict[int, str] = {}
    if ids:
        signed_in = select(AuditEvent.user_id, AuditEvent.actor).where(  # the user's e-mail
            AuditEvent.user_id.in_(ids), AuditEvent.action == "sign-in",
            AuditEvent.outcome == "ok")
        emails = {uid: actor for uid, actor in session.execute(signed_in)}
        emails.update((uid, email) for uid, email in session.execute(
            select(User.id, User.email).where(User.id.in_(ids))))
    actors = {}
    for source in sources:
        uid = _office_user_id(source)
        if uid is not None:
            actors[source] = emails.get(uid, f"user {uid}")
        elif source.startswith(f"{OFFICE_SOURCE}:"):
            actors[source] = OFFICE_SOURCE
        elif source.startswith("provider:"):
            actors[source] = "provider"
        elif source.startswith(KIT_SOURCES):
            actors[source] = "kit"
        elif source == "activation":
            actors[source] = ""
        else:
            actors[source] = "shop"
    return actors
