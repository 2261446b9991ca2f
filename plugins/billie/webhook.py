"""Billie's webhooks: a static API key in a header, and a small JSON body per event.

Billie sends the key the merchant agreed with it as ``X-Api-Key: <key>`` or
``Authorization: Basic <key>`` (no signature over the body). The body is
``{created_at, event, order_id, order_uuid, invoice_uuid?, amount?, open_amount?}``:
``created_at`` as ``Y-m-d H:i:s`` (read as Berlin time unless it carries an offset),
``order_id`` the order's external code, amounts decimal strings such as ``"80.00"``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as secrets_module
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.context import ParsedDelivery, ProviderEvent
from core.errors import ConfigurationError, PayloadError, SignatureError
from core.money import parse_decimal, to_minor
from core.schemas import read_json_object

__all__ = ["CANCEL_EVENTS", "check_key", "new_key", "parse", "verify"]

PROVIDER = "billie"
# a declined order is one Billie kept waiting for a manual check, then turned down
CANCEL_EVENTS = frozenset({"order_canceled", "order_cancelled", "order_declined"})
DEFAULT_TIMEZONE = "Europe/Berlin"
MIN_KEY_LENGTH = 16


def new_key() -> str:
    """A new random API key for Billie to send (43 URL-safe characters)."""
    return secrets_module.token_urlsafe(32)


def check_key(key: str) -> None:
    """Refuse a key that is too short or could not travel in a header."""
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"a Billie webhook key has at least {MIN_KEY_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in key):
        raise ValueError("a Billie webhook key has no spaces or control characters")


def _presented(headers: Mapping[str, str]) -> str | None:
    key = headers.get("X-Api-Key")
    if key:
        return key.strip()
    scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() == "basic" and value.strip():
        return value.strip()
    return None


def verify(headers: Mapping[str, str], secrets: Sequence[str]) -> None:
    """Accept the delivery if its key equals one of the connection's keys (compared in
    constant time); raise :class:`SignatureError` otherwise, without echoing anything."""
    presented = _presented(headers)
    if presented is None:
        raise SignatureError("missing X-Api-Key or Authorization: Basic header")
    if not secrets:
        raise SignatureError("the connection has no Billie webhook key configured")
    given = presented.encode()
    matches = [hmac.compare_digest(given, secret.encode()) for secret in secrets]
    if not any(matches):
        raise SignatureError("the API key does not match")


def parse(body: bytes, settings: Mapping[str, Any]) -> ParsedDelivery:
    """Read a verified delivery into one :class:`ProviderEvent`."""
    data = read_json_object(body, exact_numbers=True)
    errors: dict[str, list[str]] = {}
    event = _required_text(data, "event", errors)
    order_uuid = _required_text(data, "order_uuid", errors)
    occurred = _timestamp(data, settings, errors)
    amount = _amount(data, "amount", str(settings.get("currency") or "EUR"), errors)
    for name in ("order_id", "invoice_uuid"):
        if data.get(name) is not None and not isinstance(data[name], str):
            errors[name] = ["must be a string"]
    if errors:
        raise PayloadError(errors, "not a Billie webhook")
    assert event is not None and order_uuid is not None and occurred is not None
    digest = hashlib.sha256(body).hexdigest()
    kind = "cancelled" if event in CANCEL_EVENTS else event
    return ParsedDelivery(
        dedupe_key=digest, topic=event, order_id=None,
        events=(ProviderEvent(provider=PROVIDER, event_id=digest, kind=kind,
                              provider_reference=order_uuid, occurred_at=occurred,
                              amount=amount, name=event),))


def _required_text(data: Mapping[str, Any], name: str,
                   errors: dict[str, list[str]]) -> str | None:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        errors[name] = ["is required and must be a non-empty string"]
        return None
    if len(value) > 64:
        errors[name] = ["must be at most 64 characters"]
        return None
    return value.strip()


def _timestamp(data: Mapping[str, Any], settings: Mapping[str, Any],
               errors: dict[str, list[str]]) -> datetime | None:
    value = data.get("created_at")
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        errors["created_at"] = ["is required as a date and time (Y-m-d H:i:s)"]
        return None
    if when.tzinfo is None:
        name = str(settings.get("timezone") or DEFAULT_TIMEZONE)
        try:
            when = when.replace(tzinfo=ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(f"unknown time zone {name!r} in the Billie connection's "
                                     "setting timezone") from None
    return when


def _amount(data: Mapping[str, Any], name: str, currency: str,
            errors: dict[str, list[str]]) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        number = Decimal(value) if isinstance(value, int) and not isinstance(value, bool) \
            else parse_decimal(value)
        return to_minor(number, currency)
    except ValueError:
        errors[name] = ["must be a decimal amount such as \"80.00\""]
        return None
