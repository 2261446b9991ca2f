"""Billie's webhooks: a static API key in a header, and a small JSON body per event.

Billie sends the key the merchant agreed with it as ``X-Api-Key: <key>`` or
``Authorization: Basic <key>`` (no signature over the body). The body is, as documented at
https://docs.billie.io/reference/webhooks, ``{created_at, event, order_id, order_uuid,
invoice_uuid?, amount?, open_amount?}``: ``created_at`` as ``Y-m-d H:i:s`` (read as Berlin
time unless it carries an offset), ``order_id`` the order's external code, ``amount`` the sum
paid and ``open_amount`` what is outstanding, as decimal strings such as ``"80.00"``.
``order_created`` is the order itself instead: ``external_code``, a nested
``amount {net, tax, gross}``, the debtor… Every event name is accepted: those the kit knows
get a meaning (:data:`KINDS`), any other is recorded under its own name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as secrets_module
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.context import ParsedDelivery, ProviderEvent
from core.errors import ConfigurationError, PayloadError, SignatureError
from core.money import parse_decimal, to_minor
from core.schemas import read_json_object

__all__ = ["CANCEL_EVENTS", "KINDS", "BillieEvent", "check_key", "new_key", "parse", "verify"]

PROVIDER = "billie"
# a declined order is one Billie kept waiting for a manual check, then turned down
CANCEL_EVENTS = frozenset({"order_canceled", "order_cancelled", "order_declined"})
# Billie's event name -> the kind the kit records (core.provider_events gives each its
# meaning); names not listed are recorded as they come
KINDS: Mapping[str, str] = {
    **{name: "cancelled" for name in CANCEL_EVENTS},
    "payment": "payment",                 # the buyer paid Billie (part or all)
    "invoice_paid_out": "paid_out",       # Billie paid the merchant for an invoice
    "order_paid_out": "paid_out",         # … for the whole order
    "dispute": "dispute",                 # the buyer disputes the claim
    "clawback": "clawback",               # the buyer took a direct debit back
    "dca": "dca",                         # handed over to a debt collection agency
    "invoice_late": "late",               # the invoice is overdue
}
DEFAULT_TIMEZONE = "Europe/Berlin"
MIN_KEY_LENGTH = 16
MAX_TEXT = 64  # longer identifiers are refused, longer event names cut


@dataclass(frozen=True, slots=True)
class BillieEvent(ProviderEvent):
    """A provider event with what Billie's webhook adds: the order's external code."""

    external_code: str | None = None


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
    """Read a verified delivery into one :class:`BillieEvent`; a body that names no Billie
    order is acknowledged and recorded as such (``ignored``), never refused."""
    data = read_json_object(body, exact_numbers=True)
    errors: dict[str, list[str]] = {}
    event = _event_name(data, errors)
    currency = str(settings.get("currency") or "EUR")
    order_uuid = _optional_text(data, "order_uuid", errors) or _optional_text(data, "uuid",
                                                                              errors)
    external_code = _optional_text(data, "order_id", errors) \
        or _optional_text(data, "external_code", errors)
    invoice_uuid = _optional_text(data, "invoice_uuid", errors)
    occurred = _timestamp(data, settings, errors)
    amount = _amount(data, "amount", currency, errors)
    open_amount = _amount(data, "open_amount", currency, errors)
    if errors:
        raise PayloadError(errors, "not a Billie webhook")
    assert event is not None
    digest = hashlib.sha256(body).hexdigest()
    if order_uuid is None:
        named = f" (external code {external_code})" if external_code else ""
        return ParsedDelivery(dedupe_key=digest, topic=event, order_id=None,
                              ignored=f"Billie's {event} names no Billie order uuid{named}")
    return ParsedDelivery(
        dedupe_key=digest, topic=event, order_id=None,
        events=(BillieEvent(provider=PROVIDER, event_id=digest, kind=KINDS.get(event, event),
                            provider_reference=order_uuid,
                            occurred_at=occurred or datetime.now(UTC), amount=amount,
                            name=event, invoice_reference=invoice_uuid,
                            open_amount=open_amount, external_code=external_code),))


def _event_name(data: Mapping[str, Any], errors: dict[str, list[str]]) -> str | None:
    value = data.get("event")
    if not isinstance(value, str) or not value.strip():
        errors["event"] = ["is required and must be a non-empty string"]
        return None
    return value.strip()[:MAX_TEXT]


def _optional_text(data: Mapping[str, Any], name: str,
                   errors: dict[str, list[str]]) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        errors[name] = ["must be a string"]
        return None
    if len(value.strip()) > MAX_TEXT:
        errors[name] = [f"must be at most {MAX_TEXT} characters"]
        return None
    return value.strip()


def _timestamp(data: Mapping[str, Any], settings: Mapping[str, Any],
               errors: dict[str, list[str]]) -> datetime | None:
    """``created_at``; ``None`` when the event has none (``order_created`` may not)."""
    value = data.get("created_at")
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        errors["created_at"] = ["must be a date and time (Y-m-d H:i:s)"]
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
    """A decimal string (``"80.00"``), a JSON number, or ``{net, tax, gross}`` (its gross)."""
    value = data.get(name)
    if isinstance(value, Mapping):
        if value.get("gross") is None:
            errors[name] = ["must name its gross amount"]
            return None
        value = value["gross"]
    if value is None:
        return None
    try:
        number = Decimal(value) if isinstance(value, int) and not isinstance(value, bool) \
            else parse_decimal(value)
        return to_minor(number, currency)
    except ValueError:
        errors[name] = ["must be a decimal amount such as \"80.00\""]
        return None
