"""The guard of every back-office page: the server-side session, the CSRF token, the body
limit of a POST and its audit event. Users, passwords and sessions are :mod:`core.users`
and :mod:`core.office_sessions`; the record is :mod:`core.audit`.

Flask's signed cookie carries two random values only: the session token (the ledger keeps
its SHA-256 and can end the session) and the CSRF token of the forms.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, overload

from flask import abort, current_app, g, redirect, request, session, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from backoffice.blueprint import bp
from core.audit import record
from core.errors import InvoicekitError
from core.ledger.db import session_scope
from core.ledger.models import Order, ShopConnection
from core.office_sessions import resume_session, session_limits
from webhooks.receiver import current_kit

__all__ = ["TOKEN", "audit_note", "check_csrf", "client_address", "csrf_token", "signed_in"]

F = TypeVar("F", bound=Callable[..., Any])
TOKEN = "office"  # the key of the session token in Flask's cookie
# a flashed message saying the action was not carried out
NOT_DONE = re.compile(r"\b(not done|not changed|not booked|refused|failed)\b", re.IGNORECASE)


def csrf_token() -> str:
    """The session's CSRF token, for every form."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Refuse (400) a POST whose form does not carry the session's CSRF token."""
    given, expected = request.form.get("csrf", ""), session.get("csrf", "")
    if not expected or not hmac.compare_digest(given, expected):
        abort(400, "the form has expired or did not come from this page: reload and retry")


def client_address() -> str | None:
    """The client's address as the app sees it (behind a proxy: as the proxy fix says)."""
    return request.remote_addr


def audit_note(*, order_id: int | None = None, detail: str | None = None,
               outcome: str | None = None) -> None:
    """What a view knows better than the guard for the POST's audit event."""
    if order_id is not None:
        g.audit_order_id = order_id
    if detail is not None:
        g.audit_detail = detail
    if outcome is not None:
        g.audit_outcome = outcome


def _action(kwargs: dict[str, Any]) -> str:
    """The audit action of this POST: the view's name (``record-call``), an order action
    as ``order-<action>``."""
    name = (request.endpoint or "").removeprefix("backoffice.").replace("_", "-")
    return f"order-{kwargs['action']}" if name == "act" and "action" in kwargs else name


def _flashed(before: int) -> list[str]:
    return [message for _, message in session.get("_flashes", [])[before:]]


def _audit(kwargs: dict[str, Any], outcome: str, detail: str) -> None:
    """Record the POST's audit event (its own transaction, after the action's). It names
    the order only if the order is the signed-in merchant's: another merchant's order in
    the address leaves no trace in that order's timeline."""
    with session_scope(current_kit().engine) as s:
        order_id = g.get("audit_order_id")
        if order_id is None and "order_id" in kwargs:
            order_id = s.scalar(select(Order.id).join(ShopConnection).where(
                Order.id == kwargs["order_id"], ShopConnection.merchant_id == g.merchant_id))
        shown = {k: v for k, v in kwargs.items()
                 if k != "action" and not (k == "order_id" and order_id is not None)}
        ids = ", ".join(f"{k} {v}" for k, v in shown.items())
        detail = "; ".join(part for part in (ids, g.get("audit_detail"), detail) if part)
        record(s, actor=g.email, action=_action(kwargs), user_id=g.user_id,
               merchant_id=g.merchant_id, order_id=order_id, client_address=client_address(),
               outcome=g.get("audit_outcome", outcome), detail=detail or None)


def _audited(view: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Run a POST's view and record who did what, and whether it was done."""
    before = len(session.get("_flashes", []))
    try:
        check_csrf()
        answer = view(**kwargs)
    except HTTPException as exc:
        _audit(kwargs, "refused", f"{exc.code} {exc.description or exc.name}")
        raise
    except InvoicekitError as exc:
        _audit(kwargs, "failed", str(exc))
        raise
    except Exception as exc:
        _audit(kwargs, "error", type(exc).__name__)
        raise
    response = current_app.make_response(answer)
    messages = _flashed(before)
    outcome = "refused" if response.status_code >= 400 else \
        "failed" if any(NOT_DONE.search(m) for m in messages) else "done"
    _audit(kwargs, outcome, " / ".join(messages))
    return response


@overload
def signed_in(view: F) -> F: ...
@overload
def signed_in(*, max_body: int) -> Callable[[F], F]: ...


def signed_in(view: F | None = None, *, max_body: int | None = None) -> Any:
    """Only for a signed-in user with a session that still counts; sets ``g.user_id``,
    ``g.merchant_id`` and ``g.email``. A POST needs the CSRF token and is recorded in the
    audit record; ``max_body`` raises the body limit of this view's POST (uploads) before
    the form is read. ``@signed_in`` or ``@signed_in(max_body=...)``."""
    if view is None:
        return lambda inner: signed_in(inner, max_body=max_body)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kit = current_kit()
        user = resume_session(kit.engine, session.get(TOKEN, ""),
                              session_limits(kit.settings))
        if user is None:
            session.pop(TOKEN, None)
            back = request.path if request.method == "GET" else None  # not to a POST's address
            return redirect(url_for("backoffice.sign_in_page", next=back))
        g.user_id, g.merchant_id, g.email = user.user_id, user.merchant_id, user.email
        if request.method != "POST":
            return view(*args, **kwargs)
        if max_body is not None:
            request.max_content_length = max_body
        return _audited(view, kwargs)

    return wrapper


@bp.app_context_processor
def _forms() -> dict[str, Any]:
    """Every template can put the session's token into its forms (the signed-in user is
    ``g.user_id``, ``g.email``: the cookie does not hold them)."""
    return {"csrf_token": csrf_token}
