"""Mondu's webhooks: an HMAC-SHA256 signature over the raw body, and one event per body.

Mondu signs every delivery with the merchant's webhook secret (``GET /webhooks/keys``
answers ``{"webhook_secret": …}``) and sends the hex digest as ``X-Mondu-Signature``
(docs.mondu.ai/reference/webhook-security; both shop plugins compare
``hash_hmac('sha256', $body, $secret)`` with that header). The same page also says to
base64-encode the digest; its own code sample and both plugins use hex, so hex is what is
checked, and a base64 digest of the same HMAC is accepted too.

The body is ``{"topic": "order/confirmed", "order_uuid", "external_reference_id",
"order_state", …}`` (topics: docs.mondu.ai/reference/webhooks-overview; fields: the plugins'
``WebhooksController``/``WebhookService``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core.context import ParsedDelivery, ProviderEvent
from core.errors import PayloadError, SignatureError
from core.schemas import read_json_object

__all__ = ["EVENT_KINDS", "check_secret", "kind_of", "parse", "sign", "verify"]

PROVIDER = "mondu"
HEADER = "X-Mondu-Signature"
MIN_SECRET_LENGTH = 16
# each documented topic as the kind the core gives a meaning (core.provider_events):
# ``cancelled`` credits what Mondu cancelled, ``payment`` and ``paid_out`` mark the invoice
# paid, ``late`` tells the merchant; the others are journalled under their own names
EVENT_KINDS = {
    "order/authorized": "order_authorized",   # buyer authorised; the kit confirms it
    "order/confirmed": "order_confirmed",     # Mondu accepted the order: it may ship
    "order/pending": "order_pending",         # manual review: do not ship yet
    "order/declined": "cancelled",            # declined (after a pending review)
    "order/canceled": "cancelled",
    "order/cancelled": "cancelled",
    "invoice/created": "invoice_created",
    "invoice/payment": "payment",             # a buyer's transfer reconciled
    "invoice/late": "late",
    "invoice/canceled": "invoice_canceled",
    "invoice/complete": "payment",            # outstanding amount reached 0: paid in full
    "invoice/reopened": "invoice_reopened",
    "payout/complete": "paid_out",            # Mondu paid the merchant
    "payout/cancelled": "payout_cancelled",
}
_AMOUNT_FIELDS = ("paid_amount_cents", "amount_cents", "gross_amount_cents")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def sign(body: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 of ``body`` with ``secret``, as Mondu sends it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_secret(secret: str) -> None:
    """Refuse a secret that cannot be Mondu's webhook secret."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"a Mondu webhook secret has at least {MIN_SECRET_LENGTH} "
                         "characters: copy webhook_secret from Mondu's GET /webhooks/keys")
    if any(c.isspace() or not c.isprintable() for c in secret):
        raise ValueError("a Mondu webhook secret has no spaces or control characters")


def verify(body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> None:
    """Accept the delivery if its signature is the HMAC of the raw body with one of the
    connection's secrets (constant-time); raise :class:`SignatureError` otherwise, without
    echoing anything."""
    given = (headers.get(HEADER) or "").strip()
    if not given:
        raise SignatureError(f"missing {HEADER} header")
    if not secrets:
        raise SignatureError("the connection has no Mondu webhook secret configured")
    presented = given.encode()
    for secret in secrets:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        if hmac.compare_digest(presented.lower(), digest.hex().encode()) \
                or hmac.compare_digest(presented, base64.b64encode(digest)):
            return
    raise SignatureError("the signature does not match the body")


def kind_of(topic: str) -> str:
    """The kit's kind of a topic: the documented meaning, else the topic itself as a word
    (``buyer/limit_updated`` → ``buyer_limit_updated``), journalled and shown."""
    return EVENT_KINDS.get(topic) or _NOT_WORD.sub("_", topic.lower()).strip("_")[:24] \
        or "unknown"


def parse(body: bytes, settings: Mapping[str, Any]) -> ParsedDelivery:
    """Read a verified delivery; an event for the order it names (``order_uuid``). A topic
    without an order (``buyer/…``) is stored with no event. Unknown topics are never
    refused."""
    del settings  # nothing configurable yet
    data = read_json_object(body)
    errors: dict[str, list[str]] = {}
    topic = data.get("topic")
    if not isinstance(topic, str) or not topic.strip() or len(topic) > 64:
        errors["topic"] = ["is required as a string of at most 64 characters"]
    order_uuid = data.get("order_uuid")
    if order_uuid is not None and (not isinstance(order_uuid, str) or not order_uuid
                                   or len(order_uuid) > 64):
        errors["order_uuid"] = ["must be a non-empty string of at most 64 characters"]
    amount = None
    for name in _AMOUNT_FIELDS:
        value = data.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                errors[name] = ["must be a whole number of cents"]
            elif amount is None:
                amount = value
    if errors:
        raise PayloadError(errors, "not a Mondu webhook")
    assert isinstance(topic, str)
    topic = topic.strip()
    digest = hashlib.sha256(body).hexdigest()
    if not order_uuid:
        return ParsedDelivery(dedupe_key=digest, topic=topic, order_id=None)
    return ParsedDelivery(
        dedupe_key=digest, topic=topic, order_id=None,
        events=(ProviderEvent(provider=PROVIDER, event_id=digest, kind=kind_of(topic),
                              provider_reference=order_uuid, occurred_at=_when(data),
                              amount=amount, name=topic,
                              invoice_reference=_text(data, "invoice_uuid"),
                              open_amount=_open_amount(data, topic)),))


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value.strip() if isinstance(value, str) and 0 < len(value.strip()) <= 64 else None


def _open_amount(data: Mapping[str, Any], topic: str) -> int | None:
    """What is still open on the invoice: ``outstanding_amount_cents`` where Mondu sends it;
    nothing once it reports the invoice complete."""
    value = data.get("outstanding_amount_cents")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 0 if topic == "invoice/complete" else None


def _when(data: Mapping[str, Any]) -> datetime:
    """When it happened: a timestamp in the body where Mondu sends one (the sources show
    none), else now."""
    for name in ("created_at", "timestamp", "occurred_at"):
        value = data.get(name)
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime.now(UTC)
