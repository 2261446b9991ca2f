"""Users of the merchants' back office: passwords hashed with scrypt (werkzeug), sign-in
that locks an account for a while after repeated failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from core.errors import ConfigurationError
from core.ledger.models import User
from core.ledger.store import Ledger

__all__ = ["LOCK", "MAX_FAILURES", "create_user", "sign_in"]

MAX_FAILURES = 5  # failed sign-ins in a row before the account is locked
LOCK = timedelta(minutes=15)
MIN_PASSWORD = 12


@cache
def _dummy_hash() -> str:
    """A hash to check against for an unknown e-mail: the answer takes as long as for a
    user, so timing does not tell which e-mails exist."""
    return generate_password_hash("not a password")


def create_user(ledger: Ledger, merchant_id: int, email: str, password: str) -> User:
    """A user of ``merchant_id``'s back office."""
    ledger.merchant(merchant_id)
    if len(password) < MIN_PASSWORD:
        raise ConfigurationError(f"a password has at least {MIN_PASSWORD} characters")
    email = email.strip().lower()
    if ledger.session.scalars(select(User).where(User.email == email)).first() is not None:
        raise ConfigurationError(f"a user {email} exists already")
    user = User(merchant_id=merchant_id, email=email,
                password_hash=generate_password_hash(password), failed_sign_ins=0)
    ledger.session.add(user)
    ledger.session.flush()
    return user


def sign_in(ledger: Ledger, email: str, password: str) -> User | None:
    """The user, if the password is right and the account not locked; counts failures."""
    user = ledger.session.scalars(select(User).where(
        User.email == email.strip().lower()).with_for_update()).first()
    now = datetime.now(UTC)
    if user is None:
        check_password_hash(_dummy_hash(), password)  # same time as a user
        return None
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not check_password_hash(user.password_hash, password):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= MAX_FAILURES:
            user.locked_until, user.failed_sign_ins = now + LOCK, 0
        return None
    user.failed_sign_ins, user.locked_until = 0, None
    return user
