"""The shop's side of a connection: are the webhooks the kit needs there, active, and posting
to the connection's delivery URL? Asked of the platform plugin
(:func:`~core.hookspecs.check_connection`) by ``invoicekit shops sync``, the worker's poll
and ``invoicekit shops show``. WooCommerce switches a webhook off by itself after repeated
failed deliveries and never sends what it missed, so this is where the merchant hears of it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.context import ConnectionCheck
from core.errors import ConfigurationError, InvoicekitError, describe
from core.hooks import Hooks
from core.ledger.models import ShopConnection

__all__ = ["ShopCheck", "check_lines", "check_shop", "delivery_url"]

log = logging.getLogger(__name__)


def delivery_url(public_url: str, connection: ShopConnection) -> str:
    """Where the shop posts this connection's deliveries: ``/webhooks/<platform>/<shop>``, or
    ``/webhooks/<platform>`` for platforms that name the shop in the body."""
    base = f"{public_url.rstrip('/')}/webhooks/{connection.platform}"
    return base if connection.external_id else f"{base}/{connection.name}"


@dataclass(frozen=True)
class ShopCheck:
    """What the platform plugin found (``checks``), or why nothing could be checked."""

    checks: tuple[ConnectionCheck, ...] = ()
    error: str | None = None

    @property
    def problems(self) -> tuple[ConnectionCheck, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def to_json(self) -> dict[str, Any]:
        return {"checks": [{"subject": c.subject, "ok": c.ok, "state": c.state, "fix": c.fix}
                           for c in self.checks], "error": self.error}


def check_shop(hooks: Hooks, platform: str, settings: Mapping[str, Any],
               url: str) -> ShopCheck | None:
    """Ask the platform plugin; ``None`` when it checks nothing for its shops."""
    try:
        checks = hooks.check_connection(platform, settings, url)
    except ConfigurationError as exc:
        return ShopCheck(error=f"not checked: {exc}")
    except InvoicekitError as exc:
        return ShopCheck(error=f"could not be read: {exc}")
    except Exception as exc:  # a bug in the plugin: the poll goes on
        log.exception("checking the %s connection failed", platform)
        return ShopCheck(error=f"could not be checked: {describe(exc)}")
    return None if checks is None else ShopCheck(tuple(checks))


def check_lines(check: ShopCheck | None) -> list[str]:
    """The check as lines of ``shops sync`` and ``shops show``."""
    if check is None:
        return []
    if check.error:
        return [f"  shop checks: {check.error}"]
    lines = ["  shop checks: " + ", ".join(f"{c.subject} {c.state}" for c in check.checks)]
    lines += [f"  fix {c.subject} ({c.state}): {c.fix}" for c in check.problems if c.fix]
    return lines
