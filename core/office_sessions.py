"""Back-office sessions held server-side, so that they can end before the browser says so.

The browser's cookie carries only a random token; the ledger keeps its SHA-256 in
``office_sessions``. A session counts while its row is not ended, its user exists, it was
used within ``[office] session_idle_minutes`` (default 30) and began less than
``session_max_hours`` (default 12) ago. Sign-out, a password change and the user's removal
end the rows; a copied cookie stops working with them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from core.config import Settings
from core.errors import ConfigurationError
from core.ledger.db import session_scope
from core.ledger.models import OfficeSession, User
from core.ledger.store import Ledger

__all__ = ["SessionLimits", "SignedIn", "active_sessions", "end_session", "end_user_sessions",
           "resume_session", "session_limits", "start_session"]

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class SessionLimits:
    """How long a session lasts unused (``idle``) and at most (``max_age``)."""

    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class SignedIn:
    """The user a valid session belongs to."""

    session_id: int
    user_id: int
    merchant_id: int
    email: str


def session_limits(settings: Settings) -> SessionLimits:
    """The ``[office]`` table's session lifetimes."""
    office = settings.office
    try:
        idle = float(office.get("session_idle_minutes", 30))
        max_hours = float(office.get("session_max_hours", 12))
    except (TypeError, ValueError):
        raise ConfigurationError("[office] session_idle_minutes and session_max_hours are "
                                 "numbers") from None
    if idle <= 0 or max_hours <= 0:
        raise ConfigurationError("[office] session lifetimes must be positive")
    return SessionLimits(idle=timedelta(minutes=idle), max_age=timedelta(hours=max_hours))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(ledger: Ledger, user: User, client_address: str | None) -> str:
    """A new session of ``user``; the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    ledger.session.add(OfficeSession(token_hash=_digest(token), user_id=user.id,
                                     client_address=(client_address or "")[:45] or None,
                                     created_at=now, last_seen_at=now))
    ledger.session.flush()
    return token


def _end(row: OfficeSession, reason: str, now: datetime) -> None:
    row.ended_at, row.end_reason = now, reason


def end_session(ledger: Ledger, token: str, reason: str = "signed_out") -> bool:
    """End the token's session; ``False`` if there was none running."""
    row = ledger.session.scalars(select(OfficeSession).where(
        OfficeSession.token_hash == _digest(token), OfficeSession.ended_at.is_(None))).first()
    if row is None:
        return False
    _end(row, reason, datetime.now(UTC))
    return True


def end_user_sessions(ledger: Ledger, user_id: int, reason: str) -> int:
    """End every running session of the user (password changed, user removed)."""
    return ledger.session.execute(update(OfficeSession).where(
        OfficeSession.user_id == user_id, OfficeSession.ended_at.is_(None)).values(
        ended_at=datetime.now(UTC), end_reason=reason)).rowcount


def _lapsed(row: OfficeSession, limits: SessionLimits, now: datetime) -> str | None:
    """Why a running session is over by time (``expired``, ``idle``), or ``None``."""
    if now - row.created_at >= limits.max_age:
        return "expired"
    if now - row.last_seen_at >= limits.idle:
        return "idle"
    return None


def active_sessions(ledger: Ledger, user_id: int, limits: SessionLimits) -> list[OfficeSession]:
    """The user's sessions that still count, oldest first."""
    now = datetime.now(UTC)
    rows = ledger.session.scalars(select(OfficeSession).where(
        OfficeSession.user_id == user_id, OfficeSession.ended_at.is_(None))
        .order_by(OfficeSession.id))
    return [row for row in rows if _lapsed(row, limits, now) is None]


def resume_session(engine: Engine, token: str, limits: SessionLimits) -> SignedIn | None:
    """The user of a session that still counts; a session found over by time is ended
    (``idle``, ``expired``). Reads only, unless it ends the row or notes its use (at most
    once a minute)."""
    if not token:
        return None
    now = datetime.now(UTC)
    with session_scope(engine, write=False) as s:
        found = s.execute(select(OfficeSession, User).join(User, User.id == OfficeSession.user_id)
                          .where(OfficeSession.token_hash == _digest(token),
                                 OfficeSession.ended_at.is_(None))).first()
        if found is None:
            return None
        row, user = found
        lapsed = _lapsed(row, limits, now)
        touch = lapsed is None and now - row.last_seen_at >= TOUCH_EVERY
        signed_in = SignedIn(row.id, user.id, user.merchant_id, user.email)
    if lapsed is not None or touch:
        with session_scope(engine) as s:
            row = s.get(OfficeSession, signed_in.session_id)
            if row is None or row.ended_at is not None:
                return None
            if lapsed is not None:
                _end(row, lapsed, now)
                return None
            row.last_seen_at = now
    return signed_in
