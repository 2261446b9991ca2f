"""The back office's pages: sign-in, orders (list, detail, actions), deliveries.

Every query is scoped to the signed-in user's merchant: another merchant's order or
delivery is 404, as if it did not exist. Actions show a confirmation page (GET) and run on
its POST; they call the core exactly as the command line does.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from sqlalchemy import or_, select

from backoffice.auth import check_csrf, csrf_token, signed_in
from core.errors import ConfigurationError, InvoicekitError, NotFound
from core.execute import replay_order, run_decided
from core.inbox import replay_delivery
from core.ledger.db import session_scope
from core.ledger.models import (
    BankTransactionRecord,
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
from core.payments.booking import assign
from core.receivables.book import (
    CHOICE_WINDOW,
    choose_policy,
    extend_due_date,
    first_invoice_day,
    policy_of,
    resume_dunning,
    stop_dunning,
)
from core.receivables.policy import FINAL_CHOICES
from core.reconcile import merchant_operations
from core.statements.build import build_statement, parse_week, week_of
from core.users import sign_in
from webhooks.receiver import current_kit

__all__ = ["bp"]

bp = Blueprint("backoffice", __name__, url_prefix="/office", template_folder="templates")
PAGE = 50
STATUSES = ("new", "authorised", "active", "declined", "voided", "credited")


@bp.app_context_processor
def _forms() -> dict[str, Any]:
    return {"csrf_token": csrf_token}


@bp.get("/")
def home() -> Response:
    return redirect(url_for("backoffice.orders"))


@bp.get("/sign-in")
def sign_in_page() -> str:
    return render_template("office/sign_in.html", next=request.args.get("next", ""))


@bp.post("/sign-in")
def sign_in_post() -> Response | tuple[str, int]:
    check_csrf()
    with session_scope(current_kit().engine) as s:
        user = sign_in(Ledger(s), request.form.get("email", ""),
                       request.form.get("password", ""))
        found = (user.id, user.merchant_id, user.email) if user else None
    if found is None:
        return render_template("office/sign_in.html", next=request.form.get("next", ""),
                               error="Wrong e-mail or password, or the account is locked "
                                     "for 15 minutes after 5 failures."), 401
    session.clear()
    session["user_id"], session["merchant_id"], session["email"] = found
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/office/") else url_for("backoffice.orders"))


@bp.post("/sign-out")
@signed_in
def sign_out() -> Response:
    session.clear()
    return redirect(url_for("backoffice.sign_in_page"))


def _own_order(ledger: Ledger, order_id: int) -> Order:
    """The order, if it belongs to the signed-in merchant; 404 otherwise."""
    order = ledger.session.get(Order, order_id)
    if order is None or order.connection.merchant_id != g.merchant_id:
        abort(404)
    return order


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
        record = _own_order(ledger, order_id)
        details = order_details(ledger, record)
        buyer = record.snapshot.get("buyer") or {}
        timeline = _timeline(ledger, record)
    return render_template("office/order.html", id=order_id, o=details, buyer=buyer,
                           timeline=timeline, actions=ACTIONS)


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
    kit = current_kit()
    outcome = replay_order(kit.engine, kit.hooks, order.connection.name, order.shop_order_id,
                           kit.backoff)
    return "retried: " + ("failed again: " + outcome.failure.error if outcome.failure
                          else "done")


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
              "original idempotency keys.", _retry),
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
        details = order_details(Ledger(s), _own_order(Ledger(s), order_id))
    label, text, _ = ACTIONS[action]
    return render_template("office/confirm.html", id=order_id, o=details, action=action,
                           label=label, text=text, nonce=secrets.token_urlsafe(12))


@bp.post("/orders/<int:order_id>/<action>")
@signed_in
def act(order_id: int, action: str) -> Response:
    if action not in ACTIONS:
        abort(404)
    with session_scope(current_kit().engine, write=False) as s:
        record = _own_order(Ledger(s), order_id)
        s.expunge(record.connection)
        s.expunge(record)
    try:
        message = ACTIONS[action][2](record)
    except (InvoicekitError, ValueError) as exc:
        message = f"not done: {exc}"
    flash(f"{ACTIONS[action][0]}: {message}")
    return redirect(url_for("backoffice.order", order_id=order_id))


@bp.get("/deliveries")
@signed_in
def deliveries() -> str:
    with session_scope(current_kit().engine, write=False) as s:
        rows = list(s.scalars(select(Delivery).join(ShopConnection).where(
            ShopConnection.merchant_id == g.merchant_id, Delivery.status == "dead")
            .order_by(Delivery.id.desc()).limit(PAGE)))
        rows = [{"id": d.id, "shop": d.connection.name, "topic": d.topic,
                 "order": d.shop_order_id, "error": d.error, "at": d.received_at}
                for d in rows]
    return render_template("office/deliveries.html", rows=rows)


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
    try:
        replay_delivery(kit.engine, delivery_id)
    except NotFound:
        abort(404)
    kit.queue.enqueue(delivery_id)
    flash(f"Delivery {delivery_id} queued again.")
    return redirect(url_for("backoffice.deliveries"))


WEEKS = 8  # the statements and chart show this many weeks back


def _weeks(today: date) -> list[tuple[str, date]]:
    """This ISO week (so far) and the ``WEEKS - 1`` before it, newest first, with their
    Mondays."""
    return [(week_of(day), parse_week(week_of(day))[0])
            for day in (today - timedelta(days=7 * n) for n in range(WEEKS))]


def _chart(session: Any, merchant_id: int, today: date) -> list[dict[str, Any]]:
    """Per week of the due date (the last weeks and the next ones): what is paid, open and
    overdue of the merchant's invoices, in EUR cents of EUR invoices."""
    first = today - timedelta(days=7 * (WEEKS - 1) + today.weekday())
    rows = session.execute(select(Receivable.due_on, Receivable.paid, Receivable.gross
                                  - Receivable.credited - Receivable.paid, Receivable.status)
                           .where(Receivable.merchant_id == merchant_id,
                                  Receivable.currency == "EUR",
                                  Receivable.due_on >= first,
                                  Receivable.due_on < first + timedelta(weeks=WEEKS + 4)))
    bars: dict[date, dict[str, int]] = {first + timedelta(weeks=n): {
        "paid": 0, "open": 0, "overdue": 0} for n in range(WEEKS + 4)}
    for due_on, paid, open_, status in rows:
        bar = bars[due_on - timedelta(days=due_on.weekday())]
        bar["paid"] += int(paid)
        if open_ > 0 and status not in ("settled", "cancelled"):
            bar["overdue" if due_on < today else "open"] += int(open_)
    top = max((sum(b.values()) for b in bars.values()), default=0) or 1
    return [{"week": week_of(monday), **{f"{k}_px": 120 * v // top for k, v in bar.items()},
             "label": f"{week_of(monday)}: " + ", ".join(
                 f"{k} {money_text(v, 'EUR')}" for k, v in bar.items())}
            for monday, bar in sorted(bars.items())]


@bp.get("/statements")
@signed_in
def statements() -> str:
    today = datetime.now(UTC).date()
    with session_scope(current_kit().engine, write=False) as s:
        chart = _chart(s, g.merchant_id, today)
    return render_template("office/statements.html", weeks=_weeks(today), chart=chart)


@bp.get("/statements/<week>.<kind>")
@signed_in
def statement_file(week: str, kind: str) -> Response:
    """One week's statement of the merchant, built (again) from the journal."""
    if kind not in ("csv", "pdf"):
        abort(404)
    try:
        parse_week(week)
    except ConfigurationError:
        abort(404)
    kit = current_kit()
    built = build_statement(kit.engine, g.merchant_id, week, kit.settings.home / "statements")
    return send_file(built.csv_path if kind == "csv" else built.pdf_path, as_attachment=True)


@bp.get("/receivables")
@signed_in
def receivables() -> str:
    """Today's calls, overdue invoices by dunning stage, hand-overs, the dunning choice."""
    today = datetime.now(UTC).date()
    with session_scope(current_kit().engine, write=False) as s:
        mine = (select(Receivable, Order, ShopConnection.name)
                .join(Order, Order.id == Receivable.order_id)
                .join(ShopConnection, ShopConnection.id == Order.connection_id)
                .where(ShopConnection.merchant_id == g.merchant_id))
        calls = [{"id": step.id, "order_id": o.id, "number": o.order_number, "shop": shop,
                  "company": o.snapshot["buyer"].get("company") or "",
                  "email": o.snapshot["buyer"].get("email") or "", "since": step.taken_on}
                 for step, o, shop in s.execute(
                     select(DunningStep, Order, ShopConnection.name)
                     .join(Receivable, Receivable.id == DunningStep.receivable_id)
                     .join(Order, Order.id == Receivable.order_id)
                     .join(ShopConnection, ShopConnection.id == Order.connection_id)
                     .where(ShopConnection.merchant_id == g.merchant_id,
                            DunningStep.status == "open").order_by(DunningStep.taken_on))]
        overdue: dict[str, list[dict[str, Any]]] = {}
        handed_over = []
        for r, o, shop in s.execute(mine.where(
                Receivable.due_on < today,
                Receivable.status.in_(("open", "stopped", "handed_over")),
                Receivable.gross - Receivable.credited - Receivable.paid > 0)
                .order_by(Receivable.due_on)):
            row = {"order_id": o.id, "number": o.order_number, "shop": shop,
                   "invoice": r.invoice.number, "due_on": r.due_on,
                   "open": money_text(r.open_amount, r.currency)}
            if r.status == "handed_over":
                handed_over.append(row)
                continue
            stage = r.steps[-1].step_id if r.steps else "not reminded yet"
            overdue.setdefault(f"{stage}{' (stopped)' if r.status == 'stopped' else ''}",
                               []).append(row)
        ledger = Ledger(s)
        merchant = ledger.merchant(g.merchant_id)
        first = first_invoice_day(ledger, g.merchant_id)
        choice = {"final": policy_of(merchant).final.value if policy_of(merchant).final
                  else None, "set_by": merchant.dunning_policy_set_by,
                  "deadline": first + CHOICE_WINDOW if first else None,
                  "open": merchant.dunning_policy_set_by != "default" and (
                      first is None or today <= first + CHOICE_WINDOW)}
    return render_template("office/receivables.html", calls=calls, overdue=overdue,
                           handed_over=handed_over, choice=choice, finals=FINAL_CHOICES)


@bp.post("/calls/<int:step_id>")
@signed_in
def record_call(step_id: int) -> Response:
    outcome = request.form.get("outcome", "").strip()
    if not outcome:
        abort(400, "outcome: write what the buyer said")
    with session_scope(current_kit().engine) as s:
        step = s.get(DunningStep, step_id)
        if step is None or step.status != "open" or \
                s.get(Receivable, step.receivable_id).merchant_id != g.merchant_id:
            abort(404)
        step.status, step.outcome = "done", outcome[:1000]
    flash("Call outcome recorded.")
    return redirect(url_for("backoffice.receivables"))


@bp.post("/dunning-choice")
@signed_in
def dunning_choice() -> Response:
    final = request.form.get("final", "")
    if final not in FINAL_CHOICES or request.form.get("confirm") != "yes":
        abort(400, "final: choose collection or cancel, and tick the box to confirm")
    try:
        with session_scope(current_kit().engine) as s:
            choose_policy(Ledger(s), g.merchant_id, final=final)
        flash(f"Unpaid invoices end with: {final}.")
    except InvoicekitError as exc:
        flash(f"Not changed: {exc}")
    return redirect(url_for("backoffice.receivables"))


@bp.get("/payments")
@signed_in
def payments() -> str:
    """Transfers the import could only propose for this merchant's orders, to confirm."""
    with session_scope(current_kit().engine, write=False) as s:
        rows = [{"id": t.id, "booked_on": t.booked_on, "amount": money_text(t.amount, t.currency),
                 "payer": t.debtor_name or "", "text": " ".join(t.remittance.split())[:80],
                 "order_id": o.id, "number": o.order_number, "shop": shop}
                for t, o, shop in s.execute(
                    select(BankTransactionRecord, Order, ShopConnection.name)
                    .join(Order, Order.id == BankTransactionRecord.proposed_order_id)
                    .join(ShopConnection, ShopConnection.id == Order.connection_id)
                    .where(ShopConnection.merchant_id == g.merchant_id,
                           BankTransactionRecord.status == "proposed")
                    .order_by(BankTransactionRecord.id))]
    return render_template("office/payments.html", rows=rows)


@bp.post("/payments/<int:transaction_id>/confirm")
@signed_in
def confirm_payment(transaction_id: int) -> Response:
    if request.form.get("confirm") != "yes":
        abort(400, "confirm: tick the box to book the transfer for the proposed order")
    with session_scope(current_kit().engine) as s:
        record = s.get(BankTransactionRecord, transaction_id)
        proposed = s.get(Order, record.proposed_order_id) \
            if record is not None and record.proposed_order_id else None
        if proposed is None or proposed.connection.merchant_id != g.merchant_id:
            abort(404)
        try:
            paid = assign(Ledger(s), transaction_id)
            flash(f"Transfer {transaction_id}: {money_text(paid, record.currency)} paid to "
                  f"order {proposed.order_number}.")
        except InvoicekitError as exc:
            flash(f"Not booked: {exc}")
    return redirect(url_for("backoffice.payments"))
