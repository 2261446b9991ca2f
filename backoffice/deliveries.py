"""The merchant's failed deliveries, and replaying one."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from backoffice.auth import audit_note, signed_in
from backoffice.blueprint import bp, paged
from core.errors import NotFound
from core.inbox import replay_delivery
from core.ledger.db import session_scope
from core.ledger.models import Delivery, ShopConnection
from webhooks.receiver import current_kit

__all__ = ["deliveries", "replay"]


@bp.get("/deliveries")
@signed_in
def deliveries() -> str:
    with session_scope(current_kit().engine, write=False) as s:
        page = paged(s, select(Delivery).join(ShopConnection).where(
            ShopConnection.merchant_id == g.merchant_id, Delivery.status == "dead")
            .order_by(Delivery.id.desc()), scalars=True)
        rows = [{"id": d.id, "shop": d.connection.name, "topic": d.topic,
                 "order": d.shop_order_id, "error": d.error, "at": d.received_at}
                for d in page.rows]
    return render_template("office/deliveries.html", rows=rows, page=page)


@bp.post("/deliveries/<int:delivery_id>/replay")
@signed_in
def replay(delivery_id: int) -> Response:
    if request.form.get("confirm") != "yes":
        abort(400, "confirm: tick the box to replay the delivery")
    kit = current_kit()
    with session_scope(kit.engine, write=False) as s:
        delivery = s.get(Delivery, delivery_id)
        if delivery is None or delivery.connection.merchant_id != g.merchant_id:
            abort(404)
        audit_note(detail=f"{delivery.topic} of order {delivery.shop_order_id}")
    try:
        replay_delivery(kit.engine, delivery_id)
    except NotFound:
        abort(404)
    kit.queue.enqueue(delivery_id)
    flash(f"Delivery {delivery_id} queued again.")
    return redirect(url_for("backoffice.deliveries"))
