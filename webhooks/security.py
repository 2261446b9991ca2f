"""Headers on every answer of the app, and the client address behind a reverse proxy.

Every answer: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` (no
address leaves the site; the office's error page links back to the page before) and
``X-Frame-Options: DENY``. HTML pages (the back office) also get :data:`PAGE_POLICY`, a
Content-Security-Policy that allows the office's own files only: no inline script or style,
no frames, forms posting to the office only (a page that must allow more, the checkout page
with the provider's widget, sets its own: :mod:`webhooks.checkout_page`). The back
office's pages and files and the HTTP API's answers are ``Cache-Control: no-store`` (they
show one merchant's data); the office's CSS may be cached.

``[office] trusted_proxies = N`` (default 0): the app sits behind N reverse proxies that set
``X-Forwarded-For`` and ``X-Forwarded-Proto``; the client address (rate limits, the audit
record) is then read from those headers with werkzeug's ``ProxyFix``. Leave it 0 when
clients reach the app directly: the headers would otherwise let anyone pick an address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from core.errors import ConfigurationError

__all__ = ["PAGE_POLICY", "register", "setting"]

PAGE_POLICY = ("default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
               "base-uri 'none'; object-src 'none'")
EVERY_ANSWER = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                "X-Frame-Options": "DENY"}
PRIVATE = ("/office/", "/api/")  # paths whose answers no cache may keep


def setting(office: Mapping[str, Any], name: str, default: int) -> int:
    """An ``[office]`` setting that is a whole number from 0 up."""
    value = office.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"[office] {name} must be a whole number from 0 up, "
                                 f"not {value!r}")
    return value


def register(app: Flask, office: Mapping[str, Any]) -> None:
    """Add the headers to every answer of ``app``; trust ``[office] trusted_proxies``."""
    proxies = setting(office, "trusted_proxies", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.after_request(_headers)


def _headers(response: Response) -> Response:
    response.headers.update(EVERY_ANSWER)
    if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
        # a page that needs more sets its own (the checkout page: the provider's widget)
        response.headers["Content-Security-Policy"] = PAGE_POLICY
    if request.path.startswith(PRIVATE) and not (request.endpoint or "").endswith(".static"):
        response.headers["Cache-Control"] = "no-store"
    return response
