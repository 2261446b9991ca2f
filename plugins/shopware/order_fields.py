"""The Shopware write-back: the values as order custom fields ``invoicekit_*`` (with the
note and the event), and the payment transaction transitions the merchant configured
(``transitions``: event → action, e.g. ``{"paid": "paid"}``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.context import WriteBack
from plugins.shopware import admin

__all__ = ["PREFIX", "write"]

PREFIX = "invoicekit_"


def _transition_key(writeback: WriteBack) -> str:
    """The event as the merchant names it in ``transitions``: a payment that leaves part of
    the order open is ``paid_partially``."""
    if writeback.event == "paid" and writeback.values.get("state") != "paid":
        return "paid_partially"
    return writeback.event


def write(settings: Mapping[str, Any], writeback: WriteBack) -> str:
    """Write one write-back to the order; say what was written."""
    if not admin.has_credentials(settings):
        return "skipped: no Admin API credentials"
    fields = {f"{PREFIX}{key}": value for key, value in writeback.values.items()}
    fields.update({f"{PREFIX}note": writeback.note, f"{PREFIX}event": writeback.event})
    admin.set_custom_fields(settings, writeback.shop_order_id, fields)
    action = (settings.get("transitions") or {}).get(_transition_key(writeback))
    if not action:
        return "custom fields written"
    return "custom fields written; " + admin.transition_transaction(
        settings, writeback.shop_order_id, action)
