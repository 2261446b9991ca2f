"""Signing in and out of the back office."""

from __future__ import annotations

from flask import Response, redirect, render_template, request, session, url_for

from backoffice.auth import check_csrf, signed_in
from backoffice.blueprint import bp
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.users import sign_in
from webhooks.receiver import current_kit

__all__ = ["sign_in_page", "sign_in_post", "sign_out"]


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
