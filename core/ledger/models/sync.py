"""What the kit tells the shops (write-backs) and reads back from them (polls, drift)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.ledger.models.base import Base, utcnow

if TYPE_CHECKING:
    from core.ledger.models.orders import Order, ShopConnection

__all__ = ["OrderDrift", "ShopSync", "WriteBackRecord"]


class WriteBackRecord(Base):
    """What the kit tells a shop about one of its orders (the write-back outbox).

    Stored in the transaction that records what it reports, then sent by the queue through
    the platform plugin's :func:`~core.hookspecs.write_back`: ``pending`` → ``sending``
    (``claimed_at``) → ``done`` (``result``), or ``retrying`` (``next_attempt_at``) and in the
    end ``dead`` with ``error``, replayable. ``uncertain`` marks an attempt whose outcome is
    unknown (a timeout): the plugin checks before it writes a note again. ``note`` is fixed
    when the event happens; ``values`` are the machine-readable fields written with it.
    """

    __tablename__ = "writebacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"))
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    connection: Mapped[ShopConnection] = relationship()
    order: Mapped[Order] = relationship()

class ShopSync(Base):
    """One reconciliation poll of a shop: the orders modified from ``since`` to ``until``
    that were read, how many were fed through the inbox, and the drift found between the
    shop and the ledger (``drift``: one entry per order). The next poll starts at the last
    finished one's ``until``."""

    __tablename__ = "shop_syncs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"),
                                               index=True)
    since: Mapped[datetime]
    until: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    orders_read: Mapped[int] = mapped_column(Integer, default=0)
    fed: Mapped[int] = mapped_column(Integer, default=0)
    drift: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)

class OrderDrift(Base):
    """A lasting difference between a shop's order and the ledger, found by comparing the
    shop's current order with the ledger (``core.sync.drift``): after a delivery was
    processed, and on every poll. ``key`` names it within the order (``kind``, or
    ``kind:<refund id>``); ``shop`` and ``kit`` say each side. It stays open (reported on
    every poll) until the two agree (``resolved_at``) or the merchant acknowledges it
    (``acknowledged_at``); a change of either side opens a new one. ``seen`` counts the
    comparisons that found it."""

    __tablename__ = "order_drift"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"))
    shop_order_id: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(96))
    kind: Mapped[str] = mapped_column(String(32))
    shop: Mapped[str] = mapped_column(String(255))
    kit: Mapped[str | None] = mapped_column(String(255))
    seen: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


# the drift of an order, and the open drift of a shop
Index("ix_order_drift_connection_id_shop_order_id", OrderDrift.connection_id,
      OrderDrift.shop_order_id)
