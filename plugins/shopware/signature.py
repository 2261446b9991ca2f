"""Shopware's signatures: lowercase hex HMAC-SHA256, compared in constant time.

* ``shopware-app-signature``: over the raw registration query string, keyed with the app
  secret;
* ``shopware-shop-signature``: over the raw body (or, on re-registration, the query), keyed
  with the shop secret the app handed out;
* ``proof``: over ``shopId + shopUrl + appName``, keyed with the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from core.errors import SignatureError

__all__ = ["check", "hex_hmac"]


def hex_hmac(key: str, message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def check(message: str | bytes, given: str | None, keys: Sequence[str], header: str) -> None:
    """Accept ``given`` if it is the signature of ``message`` under one of ``keys``."""
    if not keys:
        raise SignatureError("the shop has no secret yet: finish the app registration")
    if not given:
        raise SignatureError(f"missing {header} header")
    candidate = given.strip().lower().encode()
    if not any(hmac.compare_digest(hex_hmac(key, message).encode(), candidate) for key in keys):
        raise SignatureError(f"{header} does not match")
