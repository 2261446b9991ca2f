"""The back office's blueprint and what its pages share: one merchant's rows only."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, redirect, url_for

from core.ledger.models import Order
from core.ledger.store import Ledger

__all__ = ["PAGE", "bp", "own_order"]

bp = Blueprint("backoffice", __name__, url_prefix="/office", template_folder="templates")
PAGE = 50  # rows per list


@bp.get("/")
def home() -> Response:
    return redirect(url_for("backoffice.orders"))


def own_order(ledger: Ledger, order_id: int) -> Order:
    """The order, if it belongs to the signed-in merchant; 404 otherwise (another
    merchant's order looks like one that does not exist)."""
    order = ledger.session.get(Order, order_id)
    if order is None or order.connection.merchant_id != g.merchant_id:
        abort(404)
    return order
