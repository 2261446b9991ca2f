"""The merchant's shops and where they and the ledger disagree: the drift not resolved nor
acknowledged (:mod:`core.sync.drift`) and the write-backs to the shop that are dead
(:mod:`core.writeback`), per shop, each row leading to its order."""

from __future__ import annotations

from typing import Any

from flask import g, render_template
from sqlalchemy import and_, func, select

from backoffice.auth import signed_in
from backoffice.blueprint import bp, paged
from core.ledger.db import session_scope
from core.ledger.models import Order, OrderDrift, ShopConnection, WriteBackRecord
from webhooks.receiver import current_kit

__all__ = ["shops"]


@bp.get("/shops")
@signed_in
def shops() -> str:
    with session_scope(current_kit().engine, write=False) as s:
        mine = ShopConnection.merchant_id == g.merchant_id
        open_drift = and_(OrderDrift.resolved_at.is_(None),
                          OrderDrift.acknowledged_at.is_(None))
        drift_counts = dict(s.execute(
            select(OrderDrift.connection_id, func.count()).join(
                ShopConnection, ShopConnection.id == OrderDrift.connection_id)
            .where(mine, open_drift).group_by(OrderDrift.connection_id)).all())
        dead_counts = dict(s.execute(
            select(WriteBackRecord.connection_id, func.count()).join(
                ShopConnection, ShopConnection.id == WriteBackRecord.connection_id)
            .where(mine, WriteBackRecord.status == "dead")
            .group_by(WriteBackRecord.connection_id)).all())
        summary = [{"name": c.name, "platform": c.platform, "provider": c.provider,
                    "drift": drift_counts.get(c.id, 0), "dead": dead_counts.get(c.id, 0)}
                   for c in s.scalars(select(ShopConnection).where(mine)
                                      .order_by(ShopConnection.name))]
        drift_page = paged(s, select(OrderDrift, ShopConnection.name, Order.id).join(
            ShopConnection, ShopConnection.id == OrderDrift.connection_id).outerjoin(
            Order, and_(Order.connection_id == OrderDrift.connection_id,
                        Order.shop_order_id == OrderDrift.shop_order_id))
            .where(mine, open_drift).order_by(OrderDrift.id.desc()), param="drift_page")
        drift: list[dict[str, Any]] = [
            {"shop": name, "order_id": order_id, "number": d.order_number, "kind": d.kind,
             "shop_side": d.shop, "kit": d.kit or "", "since": d.first_seen_at,
             "seen": d.seen} for d, name, order_id in drift_page.rows]
        dead_page = paged(s, select(WriteBackRecord, ShopConnection.name, Order).join(
            ShopConnection, ShopConnection.id == WriteBackRecord.connection_id).join(
            Order, Order.id == WriteBackRecord.order_id)
            .where(mine, WriteBackRecord.status == "dead")
            .order_by(WriteBackRecord.id.desc()), param="dead_page")
        dead = [{"id": w.id, "shop": name, "order_id": o.id, "number": o.order_number,
                 "event": w.event, "attempts": w.attempts, "error": w.error or "",
                 "at": w.created_at} for w, name, o in dead_page.rows]
    return render_template("office/shops.html", summary=summary, drift=drift,
                           drift_page=drift_page, dead=dead, dead_page=dead_page)
