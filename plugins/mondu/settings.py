"""The merchant's Mondu settings (``order.settings``), checked once per call.

Keys: ``api_token`` (required; sent as the ``Api-Token`` header), ``sandbox`` (default
``True``), ``base_url`` (overrides ``sandbox``), ``connect_timeout`` and ``read_timeout``
(seconds, default 5 and 30), ``net_term`` (payment term in days, default 30; Mondu accepts
only the terms enabled for the merchant's account), ``payment_method`` (default
``invoice``) and ``invoice_url`` (a URL template with ``{number}``).

Base URLs as Mondu's shop plugins use them: ``MONDU_SANDBOX_URL`` / ``MONDU_PRODUCTION_URL``
in mondu-ai/bnpl-checkout-woocommerce ``mondu-buy-now-pay-later.php`` and
``ConfigService::SANDBOX_API_URL`` / ``API_URL`` in mondu-ai/bnpl-checkout-shopware6.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConfigurationError
from plugins.provider_common import setting_flag, setting_seconds, setting_text

__all__ = ["PAYMENT_METHODS", "PRODUCTION_URL", "SANDBOX_URL", "MonduSettings",
           "read_settings"]

SANDBOX_URL = "https://api.demo.mondu.ai/api/v1/"
PRODUCTION_URL = "https://api.mondu.ai/api/v1/"
DEFAULT_TIMEOUTS = (5.0, 30.0)
DEFAULT_NET_TERM = 30
# Create Order's payment_method enum (docs.mondu.ai/reference/post_api-v1-orders)
PAYMENT_METHODS = frozenset({"invoice", "direct_debit", "installment", "billing_statement",
                             "installment_by_invoice", "pay_now"})


@dataclass(frozen=True, slots=True)
class MonduSettings:
    """Checked settings; ``repr`` never shows the API token."""

    api_token: str = field(repr=False)
    base_url: str
    timeout: tuple[float, float] = DEFAULT_TIMEOUTS
    net_term: int = DEFAULT_NET_TERM
    payment_method: str = "invoice"
    invoice_url: str | None = None


def read_settings(settings: Mapping[str, Any]) -> MonduSettings:
    """Check ``settings``; raise :class:`ConfigurationError` naming the setting at fault
    (never its value)."""
    token = _text(settings, "api_token", required=True)
    assert token is not None
    base_url = _text(settings, "base_url")
    if base_url is None:
        base_url = SANDBOX_URL if _flag(settings, "sandbox", default=True) else PRODUCTION_URL
    elif not base_url.startswith(("https://", "http://")):
        raise ConfigurationError("Mondu setting base_url must be an http(s) URL")
    timeout = (_seconds(settings, "connect_timeout", DEFAULT_TIMEOUTS[0]),
               _seconds(settings, "read_timeout", DEFAULT_TIMEOUTS[1]))
    term = settings.get("net_term", DEFAULT_NET_TERM)
    if isinstance(term, str) and term.strip().isdigit():
        term = int(term)
    if isinstance(term, bool) or not isinstance(term, int) or not 1 <= term <= 365:
        raise ConfigurationError("Mondu setting net_term must be a whole number of days "
                                 "(one Mondu enabled for the account: 14, 30, 45, 60, 90…)")
    method = _text(settings, "payment_method") or "invoice"
    if method not in PAYMENT_METHODS:
        raise ConfigurationError("Mondu setting payment_method must be one of "
                                 f"{', '.join(sorted(PAYMENT_METHODS))}")
    invoice_url = _text(settings, "invoice_url")
    if invoice_url is not None and "{number}" not in invoice_url:
        raise ConfigurationError("Mondu setting invoice_url must contain {number}, "
                                 "e.g. https://shop.example/invoices/{number}.pdf")
    return MonduSettings(api_token=token, base_url=base_url.rstrip("/") + "/",
                         timeout=timeout, net_term=term, payment_method=method,
                         invoice_url=invoice_url)


def _text(settings: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    return setting_text(settings, key, "Mondu", required=required,
                        how="invoicekit merchants configure --provider-setting")


def _flag(settings: Mapping[str, Any], key: str, *, default: bool) -> bool:
    return setting_flag(settings, key, "Mondu", default=default)


def _seconds(settings: Mapping[str, Any], key: str, default: float) -> float:
    return setting_seconds(settings, key, "Mondu", default)
