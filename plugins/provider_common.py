"""What the remote provider plugins (Billie, Mondu) share: reading their merchant settings,
and telling from a failed HTTP request whether it reached the provider.

Each provider's own client keeps what differs (its answers' errors, its status codes that
may have been applied); these are the parts that are the same to the letter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from core.errors import ConfigurationError, OutcomeUnknown, RetryableError

__all__ = ["not_connected", "setting_flag", "setting_seconds", "setting_text",
           "transport_error"]

CONFIGURE = "invoicekit merchants configure"
MAX_SECONDS = 300


def setting_text(settings: Mapping[str, Any], key: str, provider: str, *,
                 required: bool = False, how: str = CONFIGURE) -> str | None:
    """The text setting ``key`` stripped; ``None`` when absent or blank (an error naming
    ``how`` to set it when ``required``)."""
    value = settings.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigurationError(f"{provider} setting {key} is missing; set it with {how}")
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{provider} setting {key} must be text")
    return value.strip()


def setting_flag(settings: Mapping[str, Any], key: str, provider: str, *,
                 default: bool) -> bool:
    """A yes/no setting: a JSON boolean, or ``true``/``yes``/``1``, ``false``/``no``/``0``."""
    value = settings.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no",
                                                            "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise ConfigurationError(f"{provider} setting {key} must be true or false")


def setting_seconds(settings: Mapping[str, Any], key: str, provider: str,
                    default: float) -> float:
    """A number of seconds above 0 and at most 300 (a timeout)."""
    value = settings.get(key, default)
    try:
        seconds = float(value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= MAX_SECONDS:
        raise ConfigurationError(f"{provider} setting {key} must be a number of seconds "
                                 f"above 0 and at most {MAX_SECONDS}")
    return seconds


def transport_error(what: str, provider: str, exc: requests.RequestException) -> Exception:
    """The kit's error for a request ``what`` to ``provider`` that got no answer: was it
    sent? Refused or timed-out connections and TLS handshakes were not (retryable); a read
    timeout or a dropped connection may have been applied (outcome unknown)."""
    if isinstance(exc, requests.exceptions.InvalidURL):
        return ConfigurationError(f"{what}: the {provider} base URL is not valid")
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError
                  | requests.exceptions.ProxyError):
        return RetryableError(f"{what} not sent ({type(exc).__name__})")
    if isinstance(exc, requests.ConnectionError) and not_connected(exc):
        return RetryableError(f"{what} not sent: connection refused or host unknown")
    return OutcomeUnknown(f"{what} may have been applied: {type(exc).__name__} after sending; "
                          f"{provider}'s state is read before it is repeated")


def not_connected(exc: requests.ConnectionError) -> bool:
    """True when the connection was never made (refused, DNS), from urllib3's reason."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError):
            return True
        pending.extend([getattr(error, "reason", None), error.__cause__, error.__context__,
                        *(a for a in getattr(error, "args", ()) if isinstance(a, BaseException))])
    return False
