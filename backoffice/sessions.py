"""Signing in and out of the back office."""

from __future__ import annotations

from flask import Response, redirect, render_template, request, session, url_for

from backoffice.auth import TOKEN, check_csrf, client_address, signed_in
from backoffice.blueprint import bp
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.office_sessions import end_session, start_session
from core.users import LOCK, MAX_FAILURES, sign_in
from webhooks.receiver import current_kit

__all__ = ["sign_in_page", "sign_in_post", "sign_out"]


@bp.get("/sign-in")
def sign_in_page() -> str:
    return render_template("office/sign_in.html", next=request.args.get("next", ""))


@bp.post("/sign-in")
def sign_in_post() -> Response | tuple[str, int]:
    """Check the password; a new session (a new token: none from before is kept)."""
    check_csrf()
    address = client_address()
    with session_scope(current_kit().engine) as s:
        ledger = Ledger(s)
        user = sign_in(ledger, request.form.get("email", ""), request.form.get("password", ""),
                       address)
        if user is not None:
            if session.get(TOKEN):
                end_session(ledger, session[TOKEN], "signed_in_again")
            token = start_session(ledger, user, address)
    if user is None:
        minutes = int(LOCK.total_seconds() // 60)
        return render_template("office/sign_in.html", next=request.form.get("next", ""),
                               error=f"Wrong e-mail or password, or the account is locked "
                                     f"here for {minutes} minutes after {MAX_FAILURES} "
                                     "failures."), 401
    session.clear()  # a new CSRF token too
    session[TOKEN] = token
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/office/") else url_for("backoffice.orders"))


@bp.post("/sign-out")
@signed_in
def sign_out() -> Response:
    """End the session server-side: a copy of the cookie stops working too."""
    token = session.get(TOKEN, "")
    with session_scope(current_kit().engine) as s:
        end_session(Ledger(s), token, "signed_out")
    session.clear()
    return redirect(url_for("backoffice.sign_in_page"))
