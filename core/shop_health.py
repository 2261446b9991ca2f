"""How a shop's connection is doing, as its plugin shows it: the last delivery received
from the shop and the last write-back to it, each with its status, and how many of each are
waiting or dead (``GET /api/v1/shops/<shop>/health``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from core.ledger.models import Delivery, ShopConnection, WriteBackRecord
from core.ledger.store import Ledger

__all__ = ["shop_health"]

# statuses still on their way: deliveries until processed, write-backs until sent
_WAITING_DELIVERIES = ("pending", "retrying")
_WAITING_WRITEBACKS = ("pending", "sending", "retrying")


def _iso(moment: datetime | None) -> str | None:
    """``2026-11-03T14:00:05Z``; SQLite's ``coalesce`` gives back a naive UTC time."""
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _summary(ledger: Ledger, table: Any, connection_id: int, waiting: tuple[str, ...],
             last: tuple[datetime | None, str | None] | None) -> dict[str, Any]:
    counts = dict(ledger.session.execute(
        select(table.status, func.count()).where(table.connection_id == connection_id)
        .group_by(table.status)).all())
    at, status = last or (None, None)
    return {"last_at": _iso(at), "last_status": status,
            "pending": sum(counts.get(s, 0) for s in waiting), "dead": counts.get("dead", 0)}


def shop_health(ledger: Ledger, connection: ShopConnection) -> dict[str, Any]:
    """The connection's health as JSON values. ``last_at`` is when the newest delivery was
    received, or when the newest write-back was sent (made, while it was not sent yet)."""
    delivery = ledger.session.execute(
        select(Delivery.received_at, Delivery.status)
        .where(Delivery.connection_id == connection.id)
        .order_by(Delivery.id.desc()).limit(1)).first()
    writeback = ledger.session.execute(
        select(func.coalesce(WriteBackRecord.sent_at, WriteBackRecord.created_at),
               WriteBackRecord.status)
        .where(WriteBackRecord.connection_id == connection.id)
        .order_by(WriteBackRecord.id.desc()).limit(1)).first()
    settings = connection.platform_settings
    return {
        "shop": connection.name, "platform": connection.platform,
        "provider": connection.provider,
        "deliveries": _summary(ledger, Delivery, connection.id, _WAITING_DELIVERIES,
                               tuple(delivery) if delivery else None),
        "writebacks": _summary(ledger, WriteBackRecord, connection.id, _WAITING_WRITEBACKS,
                               tuple(writeback) if writeback else None),
        "rest_credentials": bool(settings.get("rest_url") and settings.get("consumer_key")
                                 and settings.get("consumer_secret")),
    }
