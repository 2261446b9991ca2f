"""Merchants' API keys: ``ik_<prefix>_<secret>``, shown once, stored as a SHA-256 of the
whole key. The prefix finds the row; the hash is compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import select

from core.errors import NotFound, Unauthenticated
from core.ledger.models import ApiKey
from core.ledger.store import Ledger

__all__ = ["authenticate", "create_key", "revoke_key"]

SCHEME = "ik"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(ledger: Ledger, merchant_id: int, name: str) -> tuple[ApiKey, str]:
    """A new key for the merchant: the stored record and the key itself (shown once)."""
    ledger.merchant(merchant_id)  # raises NotFound for an unknown merchant
    prefix = secrets.token_hex(6)
    key = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiKey(merchant_id=merchant_id, name=name, prefix=prefix,
                    secret_hash=_digest(key))
    ledger.session.add(record)
    ledger.session.flush()
    return record, key


def authenticate(ledger: Ledger, authorization: str | None) -> ApiKey:
    """The key an ``Authorization: Bearer …`` header carries, if it is valid and not revoked."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("send the merchant's API key as 'Authorization: Bearer <key>'")
    key = key.strip()
    parts = key.split("_", 2)
    record = ledger.session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])) \
        .one_or_none() if len(parts) == 3 and parts[0] == SCHEME else None
    if record is None or record.revoked_at is not None or \
            not hmac.compare_digest(record.secret_hash, _digest(key)):
        raise Unauthenticated("the API key is not valid")
    return record


def revoke_key(ledger: Ledger, key_id: int) -> ApiKey:
    record = ledger.session.get(ApiKey, key_id)
    if record is None:
        raise NotFound(f"no API key {key_id}")
    if record.revoked_at is None:
        record.revoked_at = datetime.now(UTC)
    return record
