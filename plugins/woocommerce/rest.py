"""WooCommerce REST API v3: which lines a refund covered (``GET orders/{id}/refunds``)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from core.errors import PermanentError, RetryableError
from core.money import exponent
from core.retry import retry_after

__all__ = ["TIMEOUT", "has_credentials", "refund_lines"]

TIMEOUT = (5, 30)  # connect, read (seconds)


def has_credentials(settings: Mapping[str, Any]) -> bool:
    return all(settings.get(k) for k in ("rest_url", "consumer_key", "consumer_secret"))


def _get(settings: Mapping[str, Any], path: str, **params: Any) -> Any:
    url = f"{str(settings['rest_url']).rstrip('/')}/wp-json/wc/v3/{path}"
    try:
        response = requests.get(url, params=params, timeout=TIMEOUT,
                                auth=(settings["consumer_key"], settings["consumer_secret"]))
    except requests.RequestException as exc:
        raise RetryableError(f"WooCommerce REST API not reachable ({type(exc).__name__})") \
            from None
    if response.status_code in (401, 403):
        raise PermanentError(f"WooCommerce refused the REST API key ({response.status_code}); "
                             "check the connection's consumer key and secret")
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableError(f"WooCommerce REST API answered {response.status_code}",
                             retry_after=retry_after(response.headers.get("Retry-After")))
    if response.status_code != 200:
        raise PermanentError(f"WooCommerce REST API answered {response.status_code} for {path}")
    try:
        return response.json()
    except ValueError:
        raise RetryableError("WooCommerce REST API answered with a body that is not JSON") \
            from None


def _all_refunds(settings: Mapping[str, Any], order_id: str) -> list[dict[str, Any]]:
    """Every refund of the order, page by page (the API returns at most 100 at a time)."""
    refunds: list[dict[str, Any]] = []
    for page in range(1, 101):
        batch = _get(settings, f"orders/{order_id}/refunds", per_page=100, page=page)
        refunds.extend(batch)
        if len(batch) < 100:
            break
    return refunds


def refund_lines(settings: Mapping[str, Any], order_id: str,
                 currency: str) -> dict[str, list[dict[str, Any]] | None]:
    """Refund id → its article lines (``line_id``, ``quantity``, ``amount`` gross), or None
    for a refund of an amount only."""
    quantum = Decimal(1).scaleb(-exponent(currency))
    result: dict[str, list[dict[str, Any]] | None] = {}
    for refund in _all_refunds(settings, order_id):
        lines = []
        for item in refund.get("line_items") or ():
            meta = {m.get("key"): m.get("value") for m in item.get("meta_data") or ()}
            original = meta.get("_refunded_item_id")
            quantity = abs(int(item.get("quantity") or 0))
            if not original or quantity == 0:
                continue
            gross = -(Decimal(str(item.get("total") or 0))
                      + Decimal(str(item.get("total_tax") or 0)))
            lines.append({"line_id": str(original), "quantity": quantity,
                          "amount": str(gross.quantize(quantum, rounding=ROUND_HALF_UP))})
        result[str(refund["id"])] = lines or None
    return result
