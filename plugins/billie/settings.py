"""The merchant's Billie settings (``order.settings``), checked once per call.

Keys: ``client_id`` and ``client_secret`` (required), ``sandbox`` (default ``True``),
``base_url`` (overrides ``sandbox``), ``connect_timeout`` and ``read_timeout`` (seconds,
default 5 and 30), ``duration_days`` (payment term, 1 to 120, default 30), ``invoice_url``
(a URL template with ``{number}``; Billie gets ``"."`` without one), ``merchant_name``
(the name Billie's checkout widget shows; default the shop's name) and ``widget_url`` (the
widget's script; default Billie's for the API chosen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConfigurationError
from plugins.provider_common import setting_flag, setting_seconds, setting_text

__all__ = ["PRODUCTION_URL", "SANDBOX_URL", "BillieSettings", "read_settings"]

SANDBOX_URL = "https://paella-sandbox.billie.io/api/v2/"
PRODUCTION_URL = "https://paella.billie.io/api/v2/"
DEFAULT_TIMEOUTS = (5.0, 30.0)
DEFAULT_DURATION = 30
MAX_DURATION = 120  # Billie's OrderDuration: 1 to 120 days


@dataclass(frozen=True, slots=True)
class BillieSettings:
    """Checked settings; ``repr`` never shows the secret."""

    client_id: str
    client_secret: str = field(repr=False)
    base_url: str
    timeout: tuple[float, float] = DEFAULT_TIMEOUTS
    duration_days: int = DEFAULT_DURATION
    invoice_url: str | None = None
    merchant_name: str | None = None
    widget_url: str | None = None


def read_settings(settings: Mapping[str, Any]) -> BillieSettings:
    """Check ``settings``; raise :class:`ConfigurationError` naming the setting at fault."""
    client_id = _text(settings, "client_id", required=True)
    client_secret = _text(settings, "client_secret", required=True)
    assert client_id is not None and client_secret is not None
    base_url = _text(settings, "base_url")
    if base_url is None:
        base_url = SANDBOX_URL if _flag(settings, "sandbox", default=True) else PRODUCTION_URL
    elif not base_url.startswith(("https://", "http://")):
        raise ConfigurationError("Billie setting base_url must be an http(s) URL")
    timeout = (_seconds(settings, "connect_timeout", DEFAULT_TIMEOUTS[0]),
               _seconds(settings, "read_timeout", DEFAULT_TIMEOUTS[1]))
    duration = settings.get("duration_days", DEFAULT_DURATION)
    if isinstance(duration, str) and duration.strip().isdigit():
        duration = int(duration)
    if isinstance(duration, bool) or not isinstance(duration, int) \
            or not 1 <= duration <= MAX_DURATION:
        raise ConfigurationError(
            f"Billie setting duration_days must be a whole number of days from 1 to "
            f"{MAX_DURATION}")
    invoice_url = _text(settings, "invoice_url")
    if invoice_url is not None and "{number}" not in invoice_url:
        raise ConfigurationError("Billie setting invoice_url must contain {number}, "
                                 "e.g. https://shop.example/invoices/{number}.pdf")
    return BillieSettings(client_id=client_id, client_secret=client_secret,
                          base_url=base_url.rstrip("/") + "/", timeout=timeout,
                          duration_days=duration, invoice_url=invoice_url,
                          merchant_name=_text(settings, "merchant_name"),
                          widget_url=_https(settings, "widget_url"))


def _text(settings: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    return setting_text(settings, key, "Billie", required=required)


def _https(settings: Mapping[str, Any], key: str) -> str | None:
    value = _text(settings, key)
    if value is not None and not value.startswith("https://"):
        raise ConfigurationError(f"Billie setting {key} must be an https:// URL")
    return value


def _flag(settings: Mapping[str, Any], key: str, *, default: bool) -> bool:
    return setting_flag(settings, key, "Billie", default=default)


def _seconds(settings: Mapping[str, Any], key: str, default: float) -> float:
    return setting_seconds(settings, key, "Billie", default)
