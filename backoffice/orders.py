"""The merchant's orders: the list with search and filters, an order with its timeline, and
the actions on it, each confirmed on its own page before its POST runs it through the core."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from backoffice.auth import signed_in
from backoffice.blueprint import PAGE, bp, own_order
from core.errors import InvoicekitError
from core.execute import run_decided
from core.kit import retry_order
from core.ledger.db import session_scope
from core.ledger.models import (
    Buyer,
    Delivery,
    DunningStep,
    OperationRecord,
    Order,
    Receivable,
    ShopConnection,
)
from core.ledger.store import Ledger
from core.money import money_text, to_minor
from core.order_details import order_details
from core.payments.block import payment_blocks, qr_svg
from core.receivables.book import extend_due_date, resume_dunning, stop_dunning
from core.reconcile import merchant_operations
from webhooks.receiver import current_kit

__all__ = ["ACTIONS", "act", "confirm", "order", "orders"]


STATUSES = ("new", "authorised", "active", "declined", "voided", "credited")


@bp.get("/orders")
@signed_in
def orders() -> str:
    q, status, shop = (request.args.get(k, "").strip() for k in ("q", "status", "shop"))
    overdue, dead = request.args.get("overdue") == "1", request.args.get("dead") == "1"
    with session_scope(current_kit().engine, write=False) as s:
        query = (select(Order, ShopConnection.name, Buyer.company)
                 .join(ShopConnection, ShopConnection.id == Order.connection_id)
                 .outerjoin(Buyer, Buyer.id == Order.buyer_id)
                 .where(ShopConnection.merchant_id == g.merchant_id))
        if q:
            like = f"%{q}%"
            query = query.where(or_(Order.order_number.ilike(like),
                                    Order.shop_order_id.ilike(like),
                                    Order.provider_reference.ilike(like),
                                    Buyer.company.ilike(like)))
        if status in STATUSES:
            query = query.where(Order.status == status)
        if shop:
            query = query.where(ShopConnection.name == shop)
        if overdue:
            query = query.where(Order.id.in_(select(Receivable.order_id).where(
                Receivable.due_on < datetime.now(UTC).date(),
                Receivable.status.in_(("open", "stopped", "handed_over")))))
        if dead:
            query = query.where(Order.id.in_(select(OperationRecord.order_id).where(
                OperationRecord.status == "dead")))
        rows = [{"id": o.id, "shop": name, "number": o.order_number, "status": o.status,
                 "buyer": (o.snapshot.get("buyer") or {}).get("company") or company or "",
                 "total": o.snapshot.get("total"), "currency": o.currency,
                 "updated": o.updated_at}
                for o, name, company in s.execute(query.order_by(Order.id.desc()).limit(PAGE))]
        shops = list(s.scalars(select(ShopConnection.name).where(
            ShopConnection.merchant_id == g.merchant_id).order_by(ShopConnection.name)))
    return render_template("office/orders.html", rows=rows, shops=shops, statuses=STATUSES,
                           q=q, status=status, shop=shop, overdue=overdue, dead=dead)


def _timeline(ledger: Ledger, order: Order) -> list[dict[str, Any]]:
    """Deliveries, operations and dunning steps of the order, oldest first."""
    events: list[dict[str, Any]] = [
        {"at": d.received_at, "what": f"delivery {d.topic}", "status": d.status,
         "detail": d.error or ""}
        for d in ledger.session.scalars(select(Delivery).where(
            Delivery.connection_id == order.connection_id,
            Delivery.shop_order_id == order.shop_order_id))]
    events += [{"at": r.created_at, "what": f"operation {r.kind} ({r.source})",
                "status": r.status, "detail": r.error or r.document_number or ""}
               for r in ledger.operations_of(order)]
    events += [{"at": step.created_at, "what": f"dunning {step.step_id} ({step.channel})",
                "status": step.status, "detail": step.outcome or ""}
               for step in ledger.session.scalars(select(DunningStep).join(
                   Receivable, Receivable.id == DunningStep.receivable_id).where(
                   Receivable.order_id == order.id))]
    return sorted(events, key=lambda e: e["at"])


@bp.get("/orders/<int:order_id>")
@signed_in
def order(order_id: int) -> str:
    with session_scope(current_kit().engine, write=False) as s:
        ledger = Ledger(s)
        record = own_order(ledger, order_id)
        details = order_details(ledger, record)
        buyer = record.snapshot.get("buyer") or {}
        timeline = _timeline(ledger, record)
        blocks = [{"n": n, "invoice": b.invoice_number,
                   "amount": money_text(b.amount, b.currency)}
                  for n, b in enumerate(payment_blocks(ledger, record))
                  if b.amount > 0 and b.currency == "EUR"]
    return render_template("office/order.html", id=order_id, o=details, buyer=buyer,
                           timeline=timeline, actions=ACTIONS, blocks=blocks)


@bp.get("/orders/<int:order_id>/girocode-<int:n>.svg")
@signed_in
def girocode(order_id: int, n: int) -> Response:
    """The EPC QR code (GiroCode) of the order's n-th open invoice, for a banking app."""
    with session_scope(current_kit().engine, write=False) as s:
        ledger = Ledger(s)
        blocks = payment_blocks(ledger, own_order(ledger, order_id))
    if not 0 <= n < len(blocks):
        abort(404)
    try:
        svg = qr_svg(blocks[n])
    except InvoicekitError:
        abort(404)
    return Response(svg, mimetype="image/svg+xml")


def _amount(order: Order) -> int:
    """The amount typed for a partial cancellation, in minor units; 400 naming the field."""
    text = request.form.get("amount", "").strip().replace(",", ".")
    try:
        gross = to_minor(Decimal(text), order.currency)
    except (ArithmeticError, ValueError):
        abort(400, "amount: type an amount such as 10.00")
    if gross <= 0:
        abort(400, "amount: only reductions are possible here; an increase of an invoice "
                   "is refused (cancel and place a new order instead)")
    return gross


def _units() -> dict[str, int]:
    """The units typed per line for a return (fields ``units-<line id>``)."""
    units = {}
    for field, text in request.form.items():
        if field.startswith("units-") and text.strip():
            if not text.strip().isdigit():
                abort(400, f"{field}: type a whole number of units")
            units[field.removeprefix("units-")] = int(text)
    if not any(units.values()):
        abort(400, "units: type how many units of a line come back")
    return units


def _decided(action: str) -> Callable[[Order], str]:
    def run(order: Order) -> str:
        kit = current_kit()
        gross = _amount(order) if action == "reduce" else 0
        units = _units() if action == "return" else None
        nonce = request.form.get("nonce", "")[:32]
        if not nonce:
            abort(400, "nonce: send the confirmation form as the page gave it")
        source = f"office:{nonce}"
        with session_scope(kit.engine, write=False) as s:  # a confirmation sent twice
            if s.scalars(select(OperationRecord.id).where(
                    OperationRecord.order_id == order.id,
                    OperationRecord.source.contains(source))).first() is not None:
                return "done already (the confirmation was sent twice)"
        outcome = run_decided(kit.engine, kit.hooks, order.id, lambda snap, state:
                              merchant_operations(snap, state, action, gross=gross,
                                                  units=units, source=source), kit.backoff)
        if outcome.failure is not None:
            return f"not done: {outcome.failure.error}"
        done = ", ".join(f"{op.kind.value} {money_text(op.amount.gross, order.currency)}"
                         for op in outcome.executed) or "nothing was open to change"
        return f"done: {done}"
    return run


def _retry(order: Order) -> str:
    outcome, requeued = retry_order(current_kit(), order.connection.name, order.shop_order_id)
    done = "failed again: " + outcome.failure.error if outcome.failure else "done"
    again = f"; {len(requeued)} dead delivery(ies) queued again" if requeued else ""
    return f"retried: {done}{again}"


def _stop_dunning(order: Order) -> str:
    with session_scope(current_kit().engine) as s:
        ledger = Ledger(s)
        stopped = stop_dunning(ledger, ledger.lock_order_by_id(order.id), "merchant")
    return f"dunning stopped for {stopped} invoice(s)"


def _resume_dunning(order: Order) -> str:
    with session_scope(current_kit().engine) as s:
        ledger = Ledger(s)
        resumed = resume_dunning(ledger, ledger.lock_order_by_id(order.id))
    return f"dunning resumed for {resumed} invoice(s)"


def _extend(order: Order) -> str:
    try:
        days = int(request.form.get("days", ""))
    except ValueError:
        abort(400, "days: type a number of days, 1 to 90")
    with session_scope(current_kit().engine) as s:
        ledger = Ledger(s)
        moved = extend_due_date(ledger, ledger.lock_order_by_id(order.id), days)
    return f"due date of {moved} invoice(s) moved by {days} days"


# action → (label, what the confirmation page says, what it does)
ACTIONS: dict[str, tuple[str, str, Callable[[Order], str]]] = {
    "activate": ("Activate", "Invoice everything not yet invoiced: the due date and the "
                 "dunning clock start.", _decided("activate")),
    "reduce": ("Partial cancellation", "Reduce the order by the amount: a credit note "
               "against the invoice, or a lower authorisation before activation.",
               _decided("reduce")),
    "return": ("Return lines", "Credit the units that came back, valued as on the invoice; "
               "units not yet invoiced are cancelled instead.", _decided("return")),
    "cancel": ("Cancel", "Cancel everything open: before activation the authorisation is "
               "voided, after it a credit note for the open amount.", _decided("cancel")),
    "retry": ("Retry dead operations", "Try the order's dead operations again, with their "
              "original idempotency keys; its dead deliveries are queued again.", _retry),
    "stop-dunning": ("Stop dunning", "No more reminders or hand-over for this order's open "
                     "invoices.", _stop_dunning),
    "resume-dunning": ("Resume dunning", "Reminders start again where they stopped, from "
                       "the next daily run.", _resume_dunning),
    "extend": ("Extend due date", "Give the buyer more days to pay the open invoices; "
               "reminders move with the due date.", _extend),
}


@bp.get("/orders/<int:order_id>/confirm/<action>")
@signed_in
def confirm(order_id: int, action: str) -> str:
    if action not in ACTIONS:
        abort(404)
    with session_scope(current_kit().engine, write=False) as s:
        details = order_details(Ledger(s), own_order(Ledger(s), order_id))
    label, text, _ = ACTIONS[action]
    return render_template("office/confirm.html", id=order_id, o=details, action=action,
                           label=label, text=text, nonce=secrets.token_urlsafe(12))


@bp.post("/orders/<int:order_id>/<action>")
@signed_in
def act(order_id: int, action: str) -> Response:
    if action not in ACTIONS:
        abort(404)
    with session_scope(current_kit().engine, write=False) as s:
        record = own_order(Ledger(s), order_id)
        s.expunge(record.connection)
        s.expunge(record)
    try:
        message = ACTIONS[action][2](record)
    except (InvoicekitError, ValueError) as exc:
        message = f"not done: {exc}"
    flash(f"{ACTIONS[action][0]}: {message}")
    return redirect(url_for("backoffice.order", order_id=order_id))
