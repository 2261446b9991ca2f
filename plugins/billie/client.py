"""HTTP client of Billie's API v2: OAuth client credentials, timeouts, error mapping.

Every failure becomes one of the kit's errors, by what it means for the request:

* not sent (connection refused, connect timeout, TLS handshake, 408, 429, 503, anything
  while fetching a token, a failed read with ``GET``): :class:`RetryableError`, with
  ``retry_after`` from ``Retry-After`` where Billie sends one;
* maybe applied (read timeout, connection dropped after sending, any other 5xx, a 2xx whose
  body cannot be read): :class:`OutcomeUnknown`;
* refused (any other 4xx): :class:`PermanentError` built from Billie's ``errors`` list,
  :class:`NotFoundAtBillie` for a 404;
* credentials refused twice: :class:`ConfigurationError`.

Messages and logs never carry the client secret, the token or a request body.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from core.errors import ConfigurationError, PermanentError, RetryableError
from core.retry import retry_after
from plugins.billie import wire
from plugins.billie.settings import BillieSettings
from plugins.provider_common import answer, read_only, transport_error

__all__ = ["NotFoundAtBillie", "clear_token_cache", "get", "path", "post", "put"]

log = logging.getLogger(__name__)

TOKEN_MARGIN = 60.0  # seconds before expiry at which a cached token is no longer used
DEFAULT_TOKEN_TTL = 8 * 3600  # Billie's default when expires_in is missing
_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


class NotFoundAtBillie(PermanentError):
    """Billie answered 404: no such order or invoice (for this client id)."""


# -- token cache ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float  # time.monotonic()


_tokens: dict[tuple[str, str, str], _Token] = {}
_locks: dict[tuple[str, str, str], threading.Lock] = {}
_guard = threading.Lock()


def _key(settings: BillieSettings) -> tuple[str, str, str]:
    """Cache key: base URL and client id (and a digest of the secret, so a corrected secret
    is never served a token the old one obtained)."""
    digest = hashlib.sha256(settings.client_secret.encode()).hexdigest()
    return settings.base_url, settings.client_id, digest


def clear_token_cache() -> None:
    """Forget every cached token (tests, credential changes)."""
    with _guard:
        _tokens.clear()


def _token(settings: BillieSettings, *, stale: str | None = None) -> str:
    """A valid bearer token, fetched at most once at a time per key; ``stale`` is a token
    Billie just refused, to be replaced unless another thread replaced it already."""
    key = _key(settings)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        cached = _tokens.get(key)
        if cached is not None and cached.value != stale and cached.expires_at > time.monotonic():
            return cached.value
        token = _fetch_token(settings)
        with _guard:
            _tokens[key] = token
        return token.value


def _fetch_token(settings: BillieSettings) -> _Token:
    body = {"grant_type": "client_credentials", "client_id": settings.client_id,
            "client_secret": settings.client_secret}
    try:
        response = requests.post(settings.base_url + "oauth/token", data=wire.dumps(body),
                                 headers=_HEADERS, timeout=settings.timeout)
    except requests.RequestException as exc:  # no effect at Billie: always safe to repeat
        raise RetryableError(f"Billie's token endpoint not reachable ({type(exc).__name__})") \
            from None
    if response.status_code in (400, 401, 403):
        raise ConfigurationError(f"Billie rejected the credentials ({response.status_code}); "
                                 "check the merchant's Billie client id and secret and the "
                                 "sandbox/production choice")
    if response.status_code != 200:
        raise RetryableError(f"Billie's token endpoint answered {response.status_code}",
                             retry_after=_retry_after(response))
    try:
        data = wire.loads(response.content)
        value = data["access_token"]
        ttl = data.get("expires_in", DEFAULT_TOKEN_TTL)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RetryableError("Billie's token endpoint answered without a token") from None
    if not isinstance(value, str) or not value or isinstance(ttl, bool) \
            or not isinstance(ttl, int):
        raise RetryableError("Billie's token endpoint answered without a token")
    log.debug("fetched a Billie token for client %s (valid %s s)", settings.client_id, ttl)
    return _Token(value, time.monotonic() + ttl - TOKEN_MARGIN)


# -- requests ---------------------------------------------------------------------------


def path(*parts: str) -> str:
    """A URL path relative to the API base, each part percent-encoded (``orders/A%2F1``)."""
    return "/".join(quote(part, safe="") for part in parts)


def get(settings: BillieSettings, url_path: str) -> Any:
    """``GET`` a resource; its JSON with decimals as ``Decimal``. A read has no effect, so
    every failure to read is retryable."""
    return read_only(lambda: _call(settings, "GET", url_path, None))


def post(settings: BillieSettings, url_path: str, body: Any = None) -> Any:
    """``POST`` ``body`` as exact JSON; the answer's JSON, or ``None`` for an empty one."""
    return _call(settings, "POST", url_path, body)


def put(settings: BillieSettings, url_path: str, body: Any = None) -> Any:
    """``PUT`` ``body`` as exact JSON (checkout session confirmations); as :func:`post`."""
    return _call(settings, "PUT", url_path, body)


def _call(settings: BillieSettings, method: str, url_path: str, body: Any) -> Any:
    data = None if body is None else wire.dumps(body)
    token = _token(settings)
    response = _send(settings, method, url_path, data, token)
    if response.status_code == 401:
        token = _token(settings, stale=token)
        response = _send(settings, method, url_path, data, token)
        if response.status_code == 401:
            raise ConfigurationError("Billie rejected the credentials (401 with a fresh "
                                     "token); check the merchant's Billie client id and secret")
    return answer(f"Billie {method} {url_path}", response, provider="Billie", loads=wire.loads,
                  errors=_errors, not_found=NotFoundAtBillie)


def _send(settings: BillieSettings, method: str, url_path: str, data: bytes | None,
          token: str) -> requests.Response:
    headers = {**_HEADERS, "Authorization": f"Bearer {token}"}
    started = time.monotonic()
    try:
        response = requests.request(method, settings.base_url + url_path, data=data,
                                    headers=headers, timeout=settings.timeout)
    except requests.RequestException as exc:
        raise transport_error(f"Billie {method} {url_path}", "Billie", exc) from None
    log.debug("Billie %s %s: %s in %.0f ms", method, url_path, response.status_code,
              (time.monotonic() - started) * 1000)
    return response


def _errors(response: requests.Response) -> str:
    """Billie's ``{"errors": [{"title", "code", "source"}]}`` as one readable line."""
    try:
        errors = wire.loads(response.content).get("errors")
    except (ValueError, AttributeError):
        return ""
    parts = []
    for error in errors if isinstance(errors, list) else ():
        if not isinstance(error, dict):
            continue
        title = str(error.get("title") or "error")[:200]
        where = [str(error[k])[:100] for k in ("source", "code") if error.get(k)]
        parts.append(f"{title} [{', '.join(where)}]" if where else title)
    return "; ".join(parts)


def _retry_after(response: requests.Response) -> float | None:
    return retry_after(response.headers.get("Retry-After"))
