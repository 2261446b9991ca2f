"""WooCommerce's webhook signature, framework-free.

``X-WC-Webhook-Signature`` is base64(HMAC-SHA256(raw body, key)), where the key is the
webhook secret with the HTML entities WordPress' ``wp_specialchars_decode(…, ENT_QUOTES)``
knows decoded. No timestamp is signed, so replays are stopped by deduplication only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from core.errors import SignatureError

__all__ = ["sign", "signing_key", "verify"]

_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#039;", "'"), ("&#39;", "'"),
             ("&#x27;", "'"), ("&amp;", "&"))


def signing_key(secret: str) -> bytes:
    """The HMAC key WooCommerce derives from a webhook secret (``a&amp;b`` signs as ``a&b``)."""
    for entity, char in _ENTITIES:
        secret = secret.replace(entity, char)
    return secret.encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """The ``X-WC-Webhook-Signature`` value WooCommerce sends for ``body``."""
    digest = hmac.new(signing_key(secret), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(body: bytes, signature: str | None, secrets: Sequence[str]) -> None:
    """Accept ``body`` if ``signature`` matches one of ``secrets``; raise SignatureError."""
    if not secrets:
        raise SignatureError("the shop has no webhook secret configured")
    if not signature:
        raise SignatureError("missing X-WC-Webhook-Signature header")
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed X-WC-Webhook-Signature header") from None
    if len(given) != hashlib.sha256().digest_size:
        raise SignatureError("malformed X-WC-Webhook-Signature header")
    for secret in secrets:
        expected = hmac.new(signing_key(secret), body, hashlib.sha256).digest()
        if hmac.compare_digest(expected, given):
            return
    raise SignatureError("signature does not match")
