"""WooCommerce REST API v3: which lines a refund covered (``GET orders/{id}/refunds``), orders
modified since a time (``GET orders?modified_after=``), and the write-back: order meta,
status (``PUT orders/{id}``) and notes (``POST orders/{id}/notes``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from core.errors import NotFound, OutcomeUnknown, PermanentError, RetryableError
from core.money import exponent
from core.retry import retry_after

__all__ = ["HTTPS_ONLY", "TIMEOUT", "add_note", "check_settings", "has_credentials",
           "has_note", "modified_orders", "order", "refund_lines", "update_order", "webhooks"]

TIMEOUT = (5, 30)  # connect, read (seconds)
# WooCommerce reads REST API keys (HTTP Basic or query parameters) only over HTTPS; over
# plain http it answers as if no key was sent: 401 woocommerce_rest_cannot_view, "Sorry, you
# cannot view this resource." (recorded on WooCommerce 10.5.2: rest-basic-auth-over-http)
HTTPS_ONLY = ("WooCommerce accepts REST API keys only over HTTPS: over plain http it answers "
              "every request 401 (\"Sorry, you cannot view this resource.\") even for a valid "
              "key")


def has_credentials(settings: Mapping[str, Any]) -> bool:
    return all(settings.get(k) for k in ("rest_url", "consumer_key", "consumer_secret"))


def _over_http(settings: Mapping[str, Any]) -> bool:
    return not str(settings.get("rest_url") or "").strip().lower().startswith("https://")


def check_settings(settings: Mapping[str, Any]) -> None:
    """Refuse a REST URL the key would be refused over: anything but ``https://``."""
    if settings.get("rest_url") and settings.get("consumer_key") and _over_http(settings):
        raise ValueError(f"--rest-url {settings['rest_url']}: {HTTPS_ONLY}; use the shop's "
                         "https:// address")


def _request(settings: Mapping[str, Any], method: str, path: str, *,
             params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
    """One call of the REST API, its JSON answer; failures as the kit's errors. A write
    whose answer is lost (a read timeout, a 5xx other than 503) may have been applied:
    :class:`OutcomeUnknown`."""
    url = f"{str(settings['rest_url']).rstrip('/')}/wp-json/wc/v3/{path}"
    writes = method != "GET"
    try:
        response = requests.request(method, url, params=params, json=body, timeout=TIMEOUT,
                                    auth=(settings["consumer_key"],
                                          settings["consumer_secret"]))
    except requests.ReadTimeout:
        error = OutcomeUnknown if writes else RetryableError
        raise error("WooCommerce REST API did not answer in time") from None
    except requests.RequestException as exc:
        raise RetryableError(f"WooCommerce REST API not reachable ({type(exc).__name__})") \
            from None
    status = response.status_code
    if status in (401, 403) and _over_http(settings):
        raise PermanentError(f"WooCommerce answered {status} because the REST URL "
                             f"{settings['rest_url']} is not https: {HTTPS_ONLY}; set the "
                             "shop's https:// address with invoicekit shops configure SHOP "
                             "--rest-url https://… --consumer-key … --consumer-secret …")
    if status in (401, 403):
        raise PermanentError(f"WooCommerce refused the REST API key ({status}); check the "
                             "connection's consumer key and secret (write-back needs "
                             "read/write access)")
    if status == 429 or status >= 500:
        error = OutcomeUnknown if writes and status not in (429, 503) else RetryableError
        raise error(f"WooCommerce REST API answered {status}",
                    retry_after=retry_after(response.headers.get("Retry-After")))
    if status == 404:
        raise NotFound(f"WooCommerce REST API answered 404 for {path}")
    if status not in (200, 201):
        raise PermanentError(f"WooCommerce REST API answered {status} for {method} {path}")
    try:
        return response.json()
    except ValueError:
        raise RetryableError("WooCommerce REST API answered with a body that is not JSON") \
            from None


def _get(settings: Mapping[str, Any], path: str, **params: Any) -> Any:
    return _request(settings, "GET", path, params=params)


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
    """Refund id → the lines it covered (``line_id``, ``quantity``, ``amount`` gross and its
    ``tax``), or None for a refund of an amount only.

    Articles refunded by quantity give their units; an article refunded by amount with
    quantity 0, and shipping and fee rows (``shipping-<id>``, ``fee-<id>``, which have no
    quantity), give quantity 0 and their amount. An amount is the row's total plus its
    taxes as ``taxes`` lists them per rate (``total_tax`` can be a cent off their sum)."""
    quantum = Decimal(1).scaleb(-exponent(currency))
    result: dict[str, list[dict[str, Any]] | None] = {}
    for refund in _all_refunds(settings, order_id):
        lines = []
        for key, prefix in (("line_items", ""), ("shipping_lines", "shipping-"),
                            ("fee_lines", "fee-")):
            for item in refund.get(key) or ():
                meta = {m.get("key"): m.get("value") for m in item.get("meta_data") or ()}
                original = meta.get("_refunded_item_id")
                tax = -_row_tax(item)
                gross = -_decimal(item.get("total")) + tax
                if not original or gross <= 0:
                    continue
                lines.append({"line_id": f"{prefix}{original}",
                              "quantity": abs(int(item.get("quantity") or 0)) if not prefix
                              else 0,
                              "amount": str(gross.quantize(quantum, rounding=ROUND_HALF_UP)),
                              "tax": str(tax.quantize(quantum, rounding=ROUND_HALF_UP))})
        result[str(refund["id"])] = lines or None
    return result


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def _row_tax(item: Mapping[str, Any]) -> Decimal:
    """A refund row's tax: the sum of its ``taxes`` per rate, else its ``total_tax``."""
    taxes = item.get("taxes") or ()
    if taxes:
        return sum((_decimal(t.get("total")) for t in taxes), Decimal(0))
    return _decimal(item.get("total_tax"))


def order(settings: Mapping[str, Any], order_id: str) -> dict[str, Any]:
    """One order as the REST API (and a webhook) shows it."""
    found = _get(settings, f"orders/{order_id}")
    if not isinstance(found, dict):
        raise PermanentError(f"WooCommerce answered something else than order {order_id}")
    return found


def modified_orders(settings: Mapping[str, Any],
                    since: datetime) -> Iterator[dict[str, Any]]:
    """Every order created or modified at or after ``since`` (UTC), page by page, by id."""
    after = since.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    for page in range(1, 10_001):
        batch = _get(settings, "orders", modified_after=after, dates_are_gmt="true",
                     orderby="id", order="asc", per_page=100, page=page)
        yield from batch
        if len(batch) < 100:
            return


def update_order(settings: Mapping[str, Any], order_id: str, meta: Mapping[str, str],
                 status: str | None = None) -> None:
    """Set order meta (each key replaced or added) and, if given, the order status."""
    body: dict[str, Any] = {"meta_data": [{"key": k, "value": v} for k, v in meta.items()]}
    if status:
        body["status"] = status
    _request(settings, "PUT", f"orders/{order_id}", body=body)


def add_note(settings: Mapping[str, Any], order_id: str, note: str) -> None:
    """Add a private order note (the merchant sees it, the buyer does not)."""
    _request(settings, "POST", f"orders/{order_id}/notes",
             body={"note": note, "customer_note": False})


def has_note(settings: Mapping[str, Any], order_id: str, marker: str) -> bool:
    """Whether a note of the order contains ``marker`` (a write whose outcome was lost)."""
    notes = _get(settings, f"orders/{order_id}/notes", type="internal")
    return any(marker in str(note.get("note", "")) for note in notes)


def webhooks(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every webhook of the shop, whatever its status (``GET webhooks``, page by page):
    ``id``, ``name``, ``status`` (``active``, ``paused``, ``disabled``), ``topic``,
    ``delivery_url``. The resource has no failure count."""
    found: list[dict[str, Any]] = []
    for page in range(1, 101):
        batch = _get(settings, "webhooks", per_page=100, page=page)
        if not isinstance(batch, list):
            raise PermanentError("WooCommerce answered something else than a list of webhooks")
        found.extend(batch)
        if len(batch) < 100:
            break
    return found
