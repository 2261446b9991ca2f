"""Shopware Admin API: OAuth client credentials; reads (an order's refunds with positions,
orders changed since a time) and the write-back (custom fields, transaction transitions)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from core.errors import NotFound, OutcomeUnknown, PermanentError, RetryableError
from core.money import exponent
from core.retry import retry_after

__all__ = ["ORDER_ASSOCIATIONS", "TIMEOUT", "changed_orders", "has_credentials", "order",
           "order_refunds", "set_custom_fields", "transition_transaction"]

TIMEOUT = (5, 30)
# Shopware answers ``Accept: */*`` (requests' default) with JSON:API, whose shape
# (``data[].attributes``, ``included``) this module does not read; only an explicit
# ``application/json`` gets the plain entities (src/Core/Framework/Api/Response/
# ResponseFactoryRegistry.php). A body is read only when its Content-Type is JSON
# (Api/EventListener/JsonRequestTransformerListener.php).
HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_lock = threading.Lock()


def has_credentials(settings: Mapping[str, Any]) -> bool:
    return all(settings.get(k) for k in ("shop_url", "client_id", "client_secret"))


def _call(method: str, url: str, *, writes: bool = False, body: Any = None,
          headers: Mapping[str, str] | None = None) -> requests.Response:
    """One request with the headers Shopware expects; a write whose answer is lost (a read
    timeout, a 5xx other than 503) may have been applied: :class:`OutcomeUnknown`."""
    try:
        response = requests.request(method, url, timeout=TIMEOUT, json=body,
                                    headers={**HEADERS, **(headers or {})})
    except requests.ReadTimeout:
        error = OutcomeUnknown if writes else RetryableError
        raise error("Shopware Admin API did not answer in time") from None
    except requests.RequestException as exc:
        raise RetryableError(f"Shopware Admin API not reachable ({type(exc).__name__})") \
            from None
    status = response.status_code
    if status == 429 or status >= 500:
        error = OutcomeUnknown if writes and status not in (429, 503) else RetryableError
        raise error(f"Shopware Admin API answered {status}",
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
                     body={"grant_type": "client_credentials",
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


def _admin(settings: Mapping[str, Any], method: str, path: str,
           body: Any = None) -> requests.Response:
    """An Admin API call with the cached token, and one fresh token if it expired early;
    refused credentials are permanent."""
    url = f"{settings['shop_url'].rstrip('/')}/api/{path}"
    writes = method != "GET" and not path.startswith("search/")
    response = _call(method, url, writes=writes, body=body,
                     headers={"Authorization": f"Bearer {_token(settings)}"})
    if response.status_code == 401:
        response = _call(method, url, writes=writes, body=body, headers={
            "Authorization": f"Bearer {_token(settings, fresh=True)}"})
    if response.status_code == 401:
        raise PermanentError("Shopware refused the app's Admin API access (401); register "
                             "the app again")
    if response.status_code == 403:
        raise PermanentError(_refusal(response))
    return response


def _refusal(response: requests.Response) -> str:
    """What a 403 means: Shopware answers a call the app's ACL role does not allow with
    ``FRAMEWORK__MISSING_PRIVILEGE_ERROR``, its detail a JSON object naming the missing
    privileges (src/Core/Framework/Api/Exception/MissingPrivilegeException.php). The role
    holds what the installed manifest's ``<permissions>`` grant, so the cure is the current
    manifest, not a new registration."""
    missing: list[str] = []
    try:
        for error in response.json().get("errors") or ():
            if error.get("code") == "FRAMEWORK__MISSING_PRIVILEGE_ERROR":
                missing += json.loads(error.get("detail") or "{}").get("missingPrivileges", [])
    except (ValueError, AttributeError, TypeError):
        pass
    what = f"the privilege {', '.join(missing)}" if missing else "this call"
    return (f"Shopware refused the app {what} (403): the app runs with an older manifest. "
            "Render it again (python -m plugins.shopware.manifest --merchant <id>), update "
            "the app in Shopware (bin/console app:refresh InvoiceKit, or upload it again) and "
            "accept its permissions, then replay")


def _search(settings: Mapping[str, Any], criteria: Mapping[str, Any]) -> list[dict[str, Any]]:
    response = _admin(settings, "POST", "search/order", criteria)
    if response.status_code != 200:
        raise PermanentError(f"Shopware Admin API answered {response.status_code} for the "
                             "order search")
    return list(response.json().get("data") or [])


def _search_order(settings: Mapping[str, Any], order_id: str) -> Mapping[str, Any]:
    found = _search(settings, {"ids": [order_id], "associations": {"transactions": {
        "associations": {"captures": {"associations": {"refunds": {"associations": {
            "positions": {}}}}}}}}})
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


# What the order parser (plugins/shopware/order.py) and the poll's choice of event read.
ORDER_ASSOCIATIONS: dict[str, Any] = {
    "currency": {}, "lineItems": {}, "orderCustomer": {}, "stateMachineState": {},
    "addresses": {"associations": {"country": {}}},
    "transactions": {"associations": {"paymentMethod": {}, "stateMachineState": {}}},
    "deliveries": {"associations": {"stateMachineState": {}}},
}
PAGE = 100


def order(settings: Mapping[str, Any], order_id: str) -> dict[str, Any]:
    """One order with what a webhook carries."""
    found = _search(settings, {"ids": [order_id], "associations": ORDER_ASSOCIATIONS})
    if not found:
        raise NotFound(f"Shopware has no order {order_id}")
    return found[0]


def changed_orders(settings: Mapping[str, Any], since: datetime) -> Iterator[dict[str, Any]]:
    """Every order created or updated at or after ``since``, oldest first, page by page.
    (Shopware leaves ``updatedAt`` empty until an order is first changed.)"""
    moment = since.astimezone(UTC).isoformat(timespec="seconds")
    criteria: dict[str, Any] = {
        "filter": [{"type": "multi", "operator": "or", "queries": [
            {"type": "range", "field": field, "parameters": {"gte": moment}}
            for field in ("createdAt", "updatedAt")]}],
        "sort": [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}],
        "associations": ORDER_ASSOCIATIONS, "limit": PAGE, "total-count-mode": 0,
    }
    for page in range(1, 10_001):
        batch = _search(settings, {**criteria, "page": page})
        yield from batch
        if len(batch) < PAGE:
            return


def set_custom_fields(settings: Mapping[str, Any], order_id: str,
                      fields: Mapping[str, str]) -> None:
    """Write order custom fields (Shopware merges them with those the order has)."""
    response = _admin(settings, "PATCH", f"order/{order_id}", {"customFields": dict(fields)})
    if response.status_code == 404:
        raise PermanentError("the order no longer exists in Shopware")
    if response.status_code not in (200, 204):
        raise PermanentError(f"Shopware Admin API answered {response.status_code} to the "
                             "custom fields")


# The state a transaction transition leads to, to skip one made already.
TRANSITION_TARGETS = {"paid": "paid", "paid_partially": "paid_partially", "cancel": "cancelled",
                      "refund": "refunded", "refund_partially": "refunded_partially",
                      "remind": "reminded", "fail": "failed", "authorize": "authorized",
                      "reopen": "open", "do_pay": "in_progress"}


def transition_transaction(settings: Mapping[str, Any], order_id: str, action: str) -> str:
    """Move the order's newest payment transaction with ``action``; say what came of it. A
    transition the state machine does not allow from the current state is reported, not
    raised: retrying cannot change it."""
    found = _search(settings, {"ids": [order_id], "associations": {"transactions": {
        "associations": {"stateMachineState": {}}}}})
    if not found:
        raise PermanentError("the order no longer exists in Shopware")
    transactions = sorted(found[0].get("transactions") or (),
                          key=lambda t: str(t.get("createdAt") or ""))
    if not transactions:
        return f"no payment transaction to move to {action}"
    transaction = transactions[-1]
    state = (transaction.get("stateMachineState") or {}).get("technicalName")
    if state is not None and state == TRANSITION_TARGETS.get(action):
        return f"transaction already {state}"
    response = _admin(settings, "POST",
                      f"_action/order_transaction/{transaction['id']}/state/{action}", {})
    if response.status_code in (200, 204):
        return f"transaction {action}"
    if response.status_code == 404:
        raise PermanentError("the order's payment transaction no longer exists in Shopware")
    return f"transition {action} not allowed from {state or 'its state'} " \
           f"({response.status_code})"
