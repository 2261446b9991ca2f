"""The back office's session (Flask's, signed with itsdangerous), its CSRF token, and the
guard of every page; users and passwords are :mod:`core.users`."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for

from backoffice.blueprint import bp

__all__ = ["check_csrf", "csrf_token", "signed_in"]

F = TypeVar("F", bound=Callable[..., Any])


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


def signed_in(view: F) -> F:
    """Only for a signed-in user; sets ``g.user_id`` and ``g.merchant_id``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "user_id" not in session:
            return redirect(url_for("backoffice.sign_in_page", next=request.path))
        g.user_id, g.merchant_id = session["user_id"], session["merchant_id"]
        g.email = session.get("email", "")
        if request.method == "POST":
            check_csrf()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.app_context_processor
def _forms() -> dict[str, Any]:
    """Every template can put the session's token into its forms."""
    return {"csrf_token": csrf_token}
