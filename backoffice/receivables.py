"""Receivables: today's calls, overdue invoices by stage, hand-overs, the dunning choice, and
the transfers proposed for the merchant's orders."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from backoffice.auth import audit_note, signed_in
from backoffice.blueprint import bp, today
from core.errors import InvoicekitError
from core.ledger.db import session_scope
from core.ledger.models import (
    BankTransactionRecord,
    DunningStep,
    Order,
    Receivable,
    ShopConnection,
)
from core.ledger.store import Ledger
from core.money import money_text
from core.payments.booking import assign, check_merchant_file, import_file
from core.receivables.book import CHOICE_WINDOW, choose_policy, first_invoice_day, policy_of
from core.receivables.policy import FINAL_CHOICES
from webhooks.receiver import current_kit

__all__ = ["confirm_payment", "dunning_choice", "payments", "receivables", "record_call",
           "upload_statement"]


@bp.get("/receivables")
@signed_in
def receivables() -> str:
    """Today's calls, overdue invoices by dunning stage, hand-overs, the dunning choice."""
    day = today()
    with session_scope(current_kit().engine, write=False) as s:
        mine = (select(Receivable, Order, ShopConnection.name)
                .join(Order, Order.id == Receivable.order_id)
                .join(ShopConnection, ShopConnection.id == Order.connection_id)
                .where(ShopConnection.merchant_id == g.merchant_id))
        calls = [{"id": step.id, "order_id": o.id, "number": o.order_number, "shop": shop,
                  "company": o.snapshot["buyer"].get("company") or "",
                  "email": o.snapshot["buyer"].get("email") or "",
                  "phone": o.snapshot["buyer"].get("phone") or "", "since": step.taken_on}
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
                Receivable.due_on < day,
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
                      first is None or day <= first + CHOICE_WINDOW)}
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
        audit_note(order_id=s.get(Receivable, step.receivable_id).order_id)
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
        audit_note(order_id=proposed.id)
        try:
            paid = assign(Ledger(s), transaction_id)
            flash(f"Transfer {transaction_id}: {money_text(paid, record.currency)} paid to "
                  f"order {proposed.order_number}.")
        except InvoicekitError as exc:
            flash(f"Not booked: {exc}")
    return redirect(url_for("backoffice.payments"))


UPLOAD_LIMIT = 20 * 1024 * 1024  # a week of a busy merchant's camt.053 fits


@bp.post("/payments/upload")
@signed_in(max_body=UPLOAD_LIMIT)  # raised before the form (and its CSRF token) is read
def upload_statement() -> Response:
    """Import a bank statement of the merchant's own collection account; a file holding
    other merchants' transfers or bank returns is refused whole, nothing booked."""
    upload = request.files.get("statement")
    if upload is None or not upload.filename:
        abort(400, "statement: choose a camt.053 or MT940 file")
    kit = current_kit()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(upload.filename).name
        upload.save(path)
        try:
            check_merchant_file(kit.engine, path, g.merchant_id)
            summary = import_file(kit.engine, path)
        except InvoicekitError as exc:
            flash(f"{path.name}: refused, nothing booked: {exc}")
            return redirect(url_for("backoffice.payments"))
    flash(f"{summary}")
    return redirect(url_for("backoffice.payments"))
