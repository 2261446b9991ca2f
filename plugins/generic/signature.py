"""Standard Webhooks signatures, framework-free.

``webhook-signature`` holds space-separated ``v1,<base64>`` signatures of
``{webhook-id}.{webhook-timestamp}.{raw body}`` (HMAC-SHA256); the key is the secret without
its ``whsec_`` prefix, base64-decoded. Timestamps more than five minutes away, in either
direction, are refused; any one matching signature of any current secret is enough.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as secrets_module
import time
from collections.abc import Mapping, Sequence

from core.errors import SignatureError

__all__ = ["TOLERANCE", "check_secret", "new_secret", "sign", "verify"]

TOLERANCE = 5 * 60
PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh secret in the Standard Webhooks form: ``whsec_`` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets_module.token_bytes(32)).decode()


def check_secret(secret: str) -> None:
    """Refuse a secret that is not ``whsec_`` + base64 of at least 24 bytes."""
    if not secret.startswith(PREFIX):
        raise ValueError("a Standard Webhooks secret starts with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("after whsec_ a Standard Webhooks secret is base64") from None
    if len(key) < 24:
        raise ValueError("a Standard Webhooks secret has at least 24 random bytes")


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the shop's webhook secret is not a whsec_ base64 secret") \
            from None


def sign(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """The ``webhook-signature`` value for one message: ``v1,<base64>``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(body: bytes, headers: Mapping[str, str], secrets: Sequence[str],
           now: float | None = None) -> None:
    """Accept the message or raise :class:`SignatureError` saying what is wrong."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    given = headers.get("webhook-signature")
    for name, value in (("webhook-id", msg_id), ("webhook-timestamp", timestamp),
                        ("webhook-signature", given)):
        if not value:
            raise SignatureError(f"missing {name} header")
    if not secrets:
        raise SignatureError("the shop has no webhook secret configured")
    try:
        sent = int(timestamp)  # type: ignore[arg-type]
    except ValueError:
        raise SignatureError("webhook-timestamp is not a Unix time in seconds") from None
    now = time.time() if now is None else now
    if sent < now - TOLERANCE:
        raise SignatureError("webhook-timestamp is too old")
    if sent > now + TOLERANCE:
        raise SignatureError("webhook-timestamp is in the future")
    candidates = [part.split(",", 1)[1].encode() for part in given.split()  # type: ignore[union-attr]
                  if part.startswith("v1,")]
    if not candidates:
        raise SignatureError("webhook-signature has no v1 signature")
    for secret in secrets:
        expected = sign(msg_id, sent, body, secret).split(",", 1)[1].encode()  # type: ignore[arg-type]
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return
    raise SignatureError("signature does not match")
