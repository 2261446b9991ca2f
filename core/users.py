"""Users of the merchants' back office: passwords hashed with scrypt (werkzeug), sign-in with
a lock per account *and client address*, password changes, unlocking and removal.

Why the lock is per address: a lock of the whole account after five wrong passwords lets
anyone keep any user out by typing wrong passwords. Here five failures in a row from one
address lock the account for that address only (for 15 minutes); the real user signs in
from their own address meanwhile. Guessing from many addresses is what the sign-in rate
limit per address is for. The failures are counted from the audit record (``sign-in``
events ``failed`` since the last success from that address or the last ``unlock``), so the
lock needs no state of its own and ``invoicekit users unlock`` clears it by recording an
``unlock``. Every answer, locked or not, known e-mail or not, spends one password-hash
check, so timing tells neither which accounts exist nor which are locked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import and_, delete, func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from core.audit import CLI, record
from core.errors import ConfigurationError, NotFound
from core.ledger.models import AuditEvent, OfficeSession, User
from core.ledger.store import Ledger
from core.office_sessions import end_user_sessions

__all__ = ["LOCK", "MAX_FAILURES", "change_password", "create_user", "locked_addresses",
           "remove_user", "sign_in", "unlock_user", "user_by_email"]

MAX_FAILURES = 5  # failed sign-ins in a row from one address before it is locked out
LOCK = timedelta(minutes=15)
MIN_PASSWORD = 12
SIGN_IN, UNLOCK = "sign-in", "unlock"


@cache
def _dummy_hash() -> str:
    """A hash to check against for an unknown e-mail: the answer takes as long as for a
    user, so timing does not tell which e-mails exist."""
    return generate_password_hash("not a password")


def _check_length(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ConfigurationError(f"a password has at least {MIN_PASSWORD} characters")


def user_by_email(ledger: Ledger, email: str, *, for_update: bool = False) -> User:
    """The user with the e-mail (any case); :class:`NotFound` naming it otherwise."""
    query = select(User).where(User.email == email.strip().lower())
    user = ledger.session.scalars(query.with_for_update() if for_update else query).first()
    if user is None:
        raise NotFound(f"no back-office user {email.strip().lower()}")
    return user


def create_user(ledger: Ledger, merchant_id: int, email: str, password: str) -> User:
    """A user of ``merchant_id``'s back office."""
    ledger.merchant(merchant_id)
    _check_length(password)
    email = email.strip().lower()
    if ledger.session.scalars(select(User).where(User.email == email)).first() is not None:
        raise ConfigurationError(f"a user {email} exists already")
    user = User(merchant_id=merchant_id, email=email,
                password_hash=generate_password_hash(password), failed_sign_ins=0)
    ledger.session.add(user)
    ledger.session.flush()
    return user


def _failures(ledger: Ledger, user_id: int, client_address: str | None,
              now: datetime) -> int:
    """Failed sign-ins of the user from the address within :data:`LOCK`, since the last
    success from there or the last unlock."""
    same_address = (AuditEvent.client_address.is_(None) if client_address is None
                    else AuditEvent.client_address == client_address)
    reset = ledger.session.scalar(select(func.max(AuditEvent.id)).where(
        AuditEvent.user_id == user_id,
        or_(AuditEvent.action == UNLOCK,
            and_(AuditEvent.action == SIGN_IN, AuditEvent.outcome == "ok", same_address))))
    return ledger.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.user_id == user_id, AuditEvent.action == SIGN_IN,
        AuditEvent.outcome == "failed", same_address, AuditEvent.at > now - LOCK,
        AuditEvent.id > (reset or 0))) or 0


def sign_in(ledger: Ledger, email: str, password: str,
            client_address: str | None = None) -> User | None:
    """The user, if the password is right and the account not locked for this address.
    Records the attempt (the e-mail as typed, never the password) in the audit record."""
    typed = email.strip()
    user = ledger.session.scalars(select(User).where(
        User.email == typed.lower()).with_for_update()).first()
    now = datetime.now(UTC)
    # one hash check on every path: the answer takes as long for an unknown e-mail and a
    # locked account as for a wrong password
    right = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is None:
        record(ledger, actor=typed or "(empty)", action=SIGN_IN, outcome="failed",
               client_address=client_address, detail="unknown e-mail")
        return None
    who = {"actor": user.email, "user_id": user.id, "merchant_id": user.merchant_id,
           "client_address": client_address}
    if _failures(ledger, user.id, client_address, now) >= MAX_FAILURES:
        record(ledger, action=SIGN_IN, outcome="locked", **who,
               detail=f"locked for this address after {MAX_FAILURES} failures")
        return None
    if not right:
        record(ledger, action=SIGN_IN, outcome="failed", detail="wrong password", **who)
        return None
    record(ledger, action=SIGN_IN, outcome="ok", **who)
    return user


def locked_addresses(ledger: Ledger, user_id: int) -> list[str]:
    """The client addresses the user's account is locked for now."""
    now = datetime.now(UTC)
    addresses = ledger.session.scalars(select(AuditEvent.client_address).distinct().where(
        AuditEvent.user_id == user_id, AuditEvent.action == SIGN_IN,
        AuditEvent.outcome == "failed", AuditEvent.at > now - LOCK))
    return sorted(address or "(none)" for address in addresses
                  if _failures(ledger, user_id, address, now) >= MAX_FAILURES)


def change_password(ledger: Ledger, email: str, password: str, *, actor: str = CLI) -> int:
    """Set the user's password and end their sessions; the number of sessions ended."""
    _check_length(password)
    user = user_by_email(ledger, email, for_update=True)
    user.password_hash = generate_password_hash(password)
    ended = end_user_sessions(ledger, user.id, "password_changed")
    record(ledger, actor=actor, action="password", outcome="done", user_id=user.id,
           merchant_id=user.merchant_id, detail=f"password of {user.email} changed; "
                                                f"{ended} session(s) ended")
    return ended


def unlock_user(ledger: Ledger, email: str, *, actor: str = CLI) -> list[str]:
    """Clear the user's sign-in locks; the addresses that were locked."""
    user = user_by_email(ledger, email, for_update=True)
    locked = locked_addresses(ledger, user.id)
    user.failed_sign_ins, user.locked_until = 0, None
    record(ledger, actor=actor, action=UNLOCK, outcome="done", user_id=user.id,
           merchant_id=user.merchant_id,
           detail=f"{user.email} unlocked for {', '.join(locked) or 'no locked address'}")
    return locked


def remove_user(ledger: Ledger, email: str, *, actor: str = CLI) -> int:
    """Remove the user and their sessions (the audit record keeps the e-mail); the number
    of running sessions ended."""
    user = user_by_email(ledger, email, for_update=True)
    ended = end_user_sessions(ledger, user.id, "user_removed")
    ledger.session.execute(delete(OfficeSession).where(OfficeSession.user_id == user.id))
    record(ledger, actor=actor, action="remove", outcome="done", user_id=user.id,
           merchant_id=user.merchant_id, detail=f"user {user.email} removed; {ended} "
                                                f"session(s) ended")
    ledger.session.delete(user)
    return ended
