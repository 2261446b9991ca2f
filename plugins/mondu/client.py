"""HTTP client of Mondu's API v1: the ``Api-Token`` header, timeouts, error mapping.

Mondu's shop plugins send ``Content-Type: application/json`` and ``Api-Token: <token>`` on
every call (mondu-ai/bnpl-checkout-woocommerce ``src/Mondu/Mondu/Api.php`` ``request()``,
mondu-ai/bnpl-checkout-shopware6 ``MonduClient::getRequestHeaders()``). No idempotency
header is documented, so a call whose outcome is unknown is looked up before it is repeated
(:func:`plugins.mondu.operations.lookup`).

Every failure becomes one of the kit's errors, by what it means for the request:

* not sent (connection refused, connect timeout, TLS handshake, 408, 429, 503, a failed
  ``GET``): :class:`RetryableError`, with ``retry_after`` from ``Retry-After``;
* maybe applied (read timeout, connection dropped after sending, other 5xx, a 2xx whose body
  is not JSON): :class:`OutcomeUnknown`;
* refused (401/403: :class:`ConfigurationError`; 404: :class:`NotFoundAtMondu`; any other
  4xx, such as 422 with Mondu's ``errors``): :class:`PermanentError`.

Messages and logs never carry the API token or a request body.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import quote, urlencode

import requests

from core.errors import ConfigurationError, PermanentError
from plugins.mondu.settings import MonduSettings
from plugins.provider_common import answer, read_only, transport_error

__all__ = ["NotFoundAtMondu", "dumps", "get", "path", "post"]

log = logging.getLogger(__name__)

_HEADERS = {"Accept": "application/json", "Content-Type": "application/json",
            "X-Plugin-Name": "invoicekit"}


class NotFoundAtMondu(PermanentError):
    """Mondu answered 404: no such order or invoice for this API token."""


def dumps(value: Any) -> bytes:
    """``value`` as compact JSON; Mondu's amounts are integer cents, so a ``float`` (or a
    ``Decimal``) is refused rather than sent."""
    def refuse(obj: Any) -> Any:
        raise TypeError(f"Mondu takes integer cents, not {type(obj).__name__}")

    _no_floats(value)
    return json.dumps(value, separators=(",", ":"), default=refuse).encode()


def _no_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("floats are never sent to Mondu; amounts are integer cents")
    if isinstance(value, dict):
        for item in value.values():
            _no_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _no_floats(item)


def path(*parts: str, query: dict[str, str] | None = None) -> str:
    """A URL path relative to the API base, each part percent-encoded."""
    text = "/".join(quote(part, safe="") for part in parts)
    return f"{text}?{urlencode(query)}" if query else text


def get(settings: MonduSettings, url_path: str) -> Any:
    """``GET`` a resource; its JSON. A read has no effect, so every failure is retryable."""
    return read_only(lambda: _call(settings, "GET", url_path, None))


def post(settings: MonduSettings, url_path: str, body: Any = None) -> Any:
    """``POST`` ``body`` as JSON; the answer's JSON, or ``None`` for an empty one."""
    return _call(settings, "POST", url_path, body)


def _call(settings: MonduSettings, method: str, url_path: str, body: Any) -> Any:
    data = None if body is None else dumps(body)
    headers = {**_HEADERS, "Api-Token": settings.api_token}
    what = f"Mondu {method} {url_path.partition('?')[0]}"
    started = time.monotonic()
    try:
        response = requests.request(method, settings.base_url + url_path, data=data,
                                    headers=headers, timeout=settings.timeout)
    except requests.RequestException as exc:
        raise transport_error(what, "Mondu", exc) from None
    log.debug("%s: %s in %.0f ms", what, response.status_code,
              (time.monotonic() - started) * 1000)
    return _answer(what, response)


def _answer(what: str, response: requests.Response) -> Any:
    if response.status_code in (401, 403):
        raise ConfigurationError(f"Mondu refused the API token ({response.status_code}); "
                                 "check the merchant's Mondu setting api_token and the "
                                 "sandbox/production choice")
    return answer(what, response, provider="Mondu", loads=json.loads, errors=_errors,
                  not_found=NotFoundAtMondu)


def _errors(response: requests.Response) -> str:
    """Mondu's ``errors`` (a list of ``{name, details}`` or ``{title, …}``, or one object;
    the WooCommerce plugin reads ``errors.title``) as one readable line, cut short."""
    try:
        errors = json.loads(response.content).get("errors")
    except (ValueError, AttributeError):
        return ""
    items = errors if isinstance(errors, list) else [errors]
    parts = []
    for error in items:
        if isinstance(error, dict):
            title = error.get("title") or error.get("details") or error.get("message")
            where = error.get("name") or error.get("source")
            text = str(title or "error")[:200]
            parts.append(f"{text} [{str(where)[:100]}]" if where else text)
        elif isinstance(error, str):
            parts.append(error[:200])
    return "; ".join(parts)
