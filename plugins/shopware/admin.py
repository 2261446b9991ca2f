"""Shopware Admin API reads: OAuth client credentials, and an order's refunds with positions."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from core.errors import PermanentError, RetryableError
from core.money import exponent
from core.retry import retry_after

__all__ = ["TIMEOUT", "has_credentials", "order_refunds"]

TIMEOUT = (5, 30)
_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_lock = threading.Lock()


def has_credentials(settings: Mapping[str, Any]) -> bool:
    return all(settings.get(k) for k in ("shop_url", "client_id", "client_secret"))


def _call(method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        response = requests.request(method, url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise RetryableError(f"Shopware Admin API not reachable ({type(exc).__name__})") \
            from None
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableError(f"Shopware Admin API answered {response.status_code}",
                             retry_after=retry_after(response.headers.get("Retry-After")))
    return response


def _token(settings: Mapping[str, Any], *, fresh: bool = False) -> str:
    """An access token, cached until shortly before it expires."""
    key = (settings["shop_url"], settings["client_id"])
    with _lock:
        cached = _tokens.get(key)
        if cached and not fresh and cached[1] > time.monotonic():
            return cached[0]
    response = _call("POST", f"{settings['shop_url'].rstrip('/')}/api/oauth/token",
                     json={"grant_type": "client_credentials",
                           "client_id": settings["client_id"],
                           "client_secret": settings["client_secret"]})
    if response.status_code in (400, 401, 403):
        raise PermanentError("Shopware refused the app's Admin API credentials; register the "
                             "app again")
    token = response.json()
    expires = time.monotonic() + max(int(token.get("expires_in", 600)) - 60, 30)
    with _lock:
        _tokens[key] = (token["access_token"], expires)
    return token["access_token"]


def _search_order(settings: Mapping[str, Any], order_id: str) -> Mapping[str, Any]:
    body = {"ids": [order_id], "associations": {"transactions": {"associations": {
        "captures": {"associations": {"refunds": {"associations": {"positions": {}}}}}}}}}
    url = f"{settings['shop_url'].rstrip('/')}/api/search/order"
    response = _call("POST", url, json=body,
                     headers={"Authorization": f"Bearer {_token(settings)}"})
    if response.status_code == 401:  # the token expired early: one fresh try
        response = _call("POST", url, json=body, headers={
            "Authorization": f"Bearer {_token(settings, fresh=True)}"})
    if response.status_code != 200:
        raise PermanentError(f"Shopware Admin API answered {response.status_code} for the order")
    found = response.json().get("data") or []
    if not found:
        raise PermanentError("Shopware Admin API does not know the order")
    return found[0]


def order_refunds(settings: Mapping[str, Any], order_id: str,
                  currency: str) -> list[dict[str, Any]]:
    """The order's refunds in canonical form, oldest first; ``lines`` from their positions."""
    quantum = Decimal(1).scaleb(-exponent(currency))

    def money(value: Any) -> str:
        return str(Decimal(str(value or 0)).quantize(quantum, rounding=ROUND_HALF_UP))

    refunds = []
    for transaction in _search_order(settings, order_id).get("transactions") or ():
        for capture in transaction.get("captures") or ():
            for refund in capture.get("refunds") or ():
                positions = [p for p in refund.get("positions") or () if p.get("quantity")]
                refunds.append({
                    "refund_id": str(refund["id"]), "reason": refund.get("reason"),
                    "amount": money((refund.get("amount") or {}).get("totalPrice")),
                    "created": refund.get("createdAt") or "",
                    "lines": [{"line_id": str(p["orderLineItemId"]),
                               "quantity": int(p["quantity"]),
                               "amount": money((p.get("amount") or {}).get("totalPrice"))}
                              for p in positions] or None,
                })
    refunds.sort(key=lambda r: r.pop("created"))
    return refunds
