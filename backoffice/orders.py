"""The merchant's orders: the list with search and filters, an order with its timeline, and
the actions on it, each confirmed on its own page before its POST runs it through the core."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from typing import Any, NoReturn

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import Select, or_, select

from backoffice.actions import (
    FormError,
    applicable,
    comma_decimal,
    parse_amount,
    parse_days,
    parse_units,
    reducible,
)
from backoffice.auth import audit_note, signed_in
from backoffice.blueprint import NotApplicable, bp, now, own_order, paged, today
from core.einvoice.documents import document_file, find_document
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
from core.money import money_text
from core.order_details import order_details
from core.payments.block import payment_blocks, qr_svg
from core.receivables.book import extend_due_date, resume_dunning, stop_dunning
from core.reconcile import merchant_operations
from core.spreadsheet import writer
from webhooks.receiver import current_kit

__all__ = ["ACTIONS", "act", "confirm", "order", "orders", "orders_csv"]


STATUSES = ("new", "authorised", "active", "declined", "voided", "credited")


def _filters() -> dict[str, Any]:
    """The orders list's search and filters, from the address."""
    q, status, shop = (request.args.get(k, "").strip() for k in ("q", "status", "shop"))
    return {"q": q, "status": status if status in STATUSES else "", "shop": shop,
            "overdue": request.args.get("overdue") == "1",
            "dead": request.args.get("dead") == "1"}


def _orders_query(f: dict[str, Any]) -> Select[Any]:
    """The signed-in merchant's orders matching the filters ``f``, newest first."""
    query = (select(Order, ShopConnection.name, Buyer.company)
             .join(ShopConnection, ShopConnection.id == Order.connection_id)
             .outerjoin(Buyer, Buyer.id == Order.buyer_id)
             .where(ShopConnection.merchant_id == g.merchant_id))
    if f["q"]:
        like = f"%{f['q']}%"
        query = query.where(or_(Order.order_number.ilike(like),
                                Order.shop_order_id.ilike(like),
                                Order.provider_reference.ilike(like),
                                Buyer.company.ilike(like)))
    if f["status"]:
        query = query.where(Order.status == f["status"])
    if f["shop"]:
        query = query.where(ShopConnection.name == f["shop"])
    if f["overdue"]:
        query = query.where(Order.id.in_(select(Receivable.order_id).where(
            Receivable.due_on < today(),
            Receivable.status.in_(("open", "stopped", "handed_over")))))
    if f["dead"]:
        query = query.where(Order.id.in_(select(OperationRecord.order_id).where(
            OperationRecord.status == "dead")))
    return query.order_by(Order.id.desc())


def _order_row(o: Order, name: str, company: str | None) -> dict[str, Any]:
    return {"id": o.id, "shop": name, "number": o.order_number, "status": o.status,
            "buyer": (o.snapshot.get("buyer") or {}).get("company") or company or "",
            "total": o.snapshot.get("total"), "currency": o.currency, "updated": o.updated_at}


@bp.get("/orders")
@signed_in
def orders() -> str:
    f = _filters()
    with session_scope(current_kit().engine, write=False) as s:
        page = paged(s, _orders_query(f))
        rows = [_order_row(*row) for row in page.rows]
        shops = list(s.scalars(select(ShopConnection.name).where(
            ShopConnection.merchant_id == g.merchant_id).order_by(ShopConnection.name)))
    export = url_for("backoffice.orders_csv", **{k: ("1" if v is True else v)
                                                  for k, v in f.items() if v})
    return render_template("office/orders.html", rows=rows, shops=shops, statuses=STATUSES,
                           page=page, export=export, **f)


@bp.get("/orders.csv")
@signed_in
def orders_csv() -> Response:
    """Every order matching the list's filters, as CSV (cells a spreadsheet would run as a
    formula are written as text: :mod:`core.spreadsheet`)."""
    f = _filters()
    out = io.StringIO()
    table = writer(out)
    table.writerow(["order_number", "shop_order_id", "shop", "buyer", "status", "total",
                    "currency", "provider_reference", "updated_utc"])
    with session_scope(current_kit().engine, write=False) as s:
        for o, name, company in s.execute(_orders_query(f)):
            row = _order_row(o, name, company)
            table.writerow([o.order_number, o.shop_order_id, name, row["buyer"], o.status,
                            row["total"], o.currency, o.provider_reference or "",
                            o.updated_at.strftime("%Y-%m-%d %H:%M:%S")])
    stamp = now().strftime("%Y%m%d-%H%M")
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="orders-{g.merchant_id}-{stamp}.csv"'})


def _timeline(ledger: Ledger, order: Order) -> list[dict[str, Any]]:
    """Deliveries, operations, dunning steps and office actions (the audit record) of the
    order, oldest first; ``by`` says who: the office user's e-mail, shop, provider or kit."""
    from core.audit import operation_actors, order_events

    events: list[dict[str, Any]] = [
        {"at": d.received_at, "what": f"delivery {d.topic}", "status": d.status,
         "detail": d.error or "", "by": "shop"}
        for d in ledger.session.scalars(select(Delivery).where(
            Delivery.connection_id == order.connection_id,
            Delivery.shop_order_id == order.shop_order_id))]
    operations = ledger.operations_of(order)
    by = operation_actors(ledger, (r.source for r in operations))
    events += [{"at": r.created_at, "what": f"operation {r.kind} ({r.source})",
                "status": r.status, "detail": r.error or r.document_number or "",
                "by": by[r.source]}
               for r in operations]
    events += [{"at": step.created_at, "what": f"dunning {step.step_id} ({step.channel})",
                "status": step.status, "detail": step.outcome or "", "by": "kit"}
               for step in ledger.session.scalars(select(DunningStep).join(
                   Receivable, Receivable.id == DunningStep.receivable_id).where(
                   Receivable.order_id == order.id))]
    events += order_events(ledger, order.id, order.connection.merchant_id)
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
        offered = applicable(ledger, record).offered()
    return render_template("office/order.html", id=order_id, o=details, buyer=buyer,
                           timeline=timeline, actions=ACTIONS, offered=offered,
                           blocks=blocks)


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


@bp.get("/orders/<int:order_id>/documents/<number>.<any(xml, pdf):kind>")
@signed_in
def document(order_id: int, number: str, kind: str) -> Response:
    """An invoice's or credit note's e-invoice: the XRechnung XML or the ZUGFeRD PDF."""
    with session_scope(current_kit().engine) as s:  # the first download stores the document
        ledger = Ledger(s)
        record = own_order(ledger, order_id)
        file = document_file(ledger, find_document(ledger, record, number), kind)
    return Response(file.data, mimetype=file.mimetype, headers={
        "Content-Disposition": f'attachment; filename="{file.filename}"'})


def _read_form(ledger: Ledger, order: Order, action: str) -> dict[str, Any]:
    """What the confirmation form of ``action`` carries, read and checked against the order
    before anything runs (:class:`FormError` names the field)."""
    if action == "reduce":
        comma = comma_decimal(ledger.merchant(order.connection.merchant_id))
        return {"gross": parse_amount(request.form.get("amount", ""), order.currency,
                                      comma=comma, maximum=reducible(ledger, order))}
    if action == "return":
        lines = {k: v.remaining for k, v in ledger.state_of(order).lines.items()}
        return {"units": parse_units(request.form, lines)}
    if action == "extend":
        return {"days": parse_days(request.form.get("days", ""))}
    return {}


def _amount(order: Order) -> int:
    """The amount typed for a partial cancellation, in minor units (read by ``act``)."""
    return int(g.office_form["gross"])


def _units() -> dict[str, int]:
    """The units typed per line for a return (read by ``act``)."""
    return dict(g.office_form["units"])


def _decided(action: str) -> Callable[[Order], str]:
    def run(order: Order) -> str:
        kit = current_kit()
        gross = _amount(order) if action == "reduce" else 0
        units = _units() if action == "return" else None
        nonce = request.form.get("nonce", "")[:32]
        if not nonce:
            abort(400, "nonce: send the confirmation form as the page gave it")
        source = f"office:{g.user_id}:{nonce}"  # who, for the timeline and the audit
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
    days = int(g.office_form["days"])
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


def _not_applicable(order_id: int, number: str, action: str, why: str) -> NoReturn:
    """Refuse (409, a page leading back to the order) an action the order's state does not
    allow."""
    raise NotApplicable(f"{ACTIONS[action][0]} is not possible for order {number}: {why}.",
                        url_for("backoffice.order", order_id=order_id))


def _confirm_page(ledger: Ledger, record: Order, action: str, *, nonce: str,
                  error: FormError | None = None) -> tuple[str, int]:
    label, text, _ = ACTIONS[action]
    details = order_details(ledger, record)
    limit = money_text(reducible(ledger, record), record.currency)
    return render_template("office/confirm.html", id=record.id, o=details, action=action,
                           label=label, text=text, nonce=nonce, limit=limit, error=error,
                           typed=request.form if error else {}), 400 if error else 200


@bp.get("/orders/<int:order_id>/confirm/<action>")
@signed_in
def confirm(order_id: int, action: str) -> tuple[str, int]:
    if action not in ACTIONS:
        abort(404)
    with session_scope(current_kit().engine, write=False) as s:
        ledger = Ledger(s)
        record = own_order(ledger, order_id)
        why = applicable(ledger, record).why_not(action)
        if why is not None:
            _not_applicable(order_id, record.order_number, action, why)
        return _confirm_page(ledger, record, action, nonce=secrets.token_urlsafe(12))


@bp.post("/orders/<int:order_id>/<action>")
@signed_in
def act(order_id: int, action: str) -> Response | tuple[str, int]:
    """Run a confirmed action: refused (409) when the order's state does not allow it, the
    form shown again (400) with what was typed when a value cannot be used."""
    if action not in ACTIONS:
        abort(404)
    with session_scope(current_kit().engine, write=False) as s:
        ledger = Ledger(s)
        record = own_order(ledger, order_id)
        why = applicable(ledger, record).why_not(action)
        if why is not None:
            _not_applicable(order_id, record.order_number, action, why)
        try:
            g.office_form = _read_form(ledger, record, action)
        except FormError as exc:
            audit_note(outcome="refused", detail=str(exc))
            return _confirm_page(ledger, record, action, error=exc,
                                 nonce=request.form.get("nonce", "")[:32])
        s.expunge(record.connection)
        s.expunge(record)
    try:
        message = ACTIONS[action][2](record)
    except (InvoicekitError, ValueError) as exc:
        message = f"not done: {exc}"
    flash(f"{ACTIONS[action][0]}: {message}")
    return redirect(url_for("backoffice.order", order_id=order_id))
