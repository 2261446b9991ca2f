"""The generic platform's write-back: a Standard Webhooks message to the shop's URL.

Signed with the connection's ``writeback_secret`` (``whsec_``), with the write-back's
idempotency key as ``webhook-id`` on every attempt, so the shop drops repeats; a fresh
``webhook-timestamp`` per attempt, as the standard asks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import requests

from core.context import WriteBack
from core.errors import PermanentError, RetryableError
from core.retry import retry_after
from plugins.generic.signature import sign

__all__ = ["TIMEOUT", "message", "send"]

TIMEOUT = (5, 30)


def message(writeback: WriteBack) -> bytes:
    """The body: ``{"type": "invoice.<event>", "timestamp", "data": {…}}``."""
    data = {"order_id": writeback.shop_order_id, "order_number": writeback.order_number,
            "note": writeback.note, **writeback.values}
    return json.dumps({"type": f"invoice.{writeback.event}",
                       "timestamp": writeback.occurred_at.isoformat(timespec="seconds"),
                       "data": data}, separators=(",", ":")).encode()


def send(settings: Mapping[str, Any], writeback: WriteBack, now: float | None = None) -> str:
    """POST the message; a 2xx is done, 429/5xx and network failures are retried (the shop
    dedupes on ``webhook-id``), any other answer is permanent."""
    url, secret = settings.get("writeback_url"), settings.get("writeback_secret")
    if not url or not secret:
        return "skipped: no write-back URL"
    body = message(writeback)
    msg_id = f"msg_{writeback.idempotency_key[:32]}"
    timestamp = int(time.time() if now is None else now)
    headers = {"Content-Type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(msg_id, timestamp, body, secret)}
    try:
        response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise RetryableError(f"the shop's write-back URL is not reachable "
                             f"({type(exc).__name__})") from None
    status = response.status_code
    if status == 429 or status >= 500:
        raise RetryableError(f"the shop's write-back URL answered {status}",
                             retry_after=retry_after(response.headers.get("Retry-After")))
    if not 200 <= status < 300:
        raise PermanentError(f"the shop's write-back URL answered {status}; check the URL "
                             "and the shop's verification of the kit's signature")
    return f"webhook {msg_id} delivered ({status})"
