"""The Flask app: the webhook receiver (verify, store durably, acknowledge fast), the
merchant's HTTP API (``/api/v1``, :mod:`webhooks.api`), the back office (``/office``,
:mod:`backoffice`), the buyer's e-invoice downloads (``/documents``,
:mod:`webhooks.documents`) and the checkout page with the provider's widget (``/checkout``,
:mod:`webhooks.checkout_page`).

Every answer carries the security headers of :mod:`webhooks.security`; sign-in and API calls
are rate-limited by :mod:`webhooks.limits`. ``create_app()`` builds the app on the instance
folder's settings; gunicorn serves it as ``webhooks:create_app()``, ``invoicekit serve`` runs
it with the queue consumer in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

import backoffice
from core.config import session_secret, setup_logging
from core.kit import Kit
from core.office_sessions import session_limits
from webhooks import (
    api,
    checkout,
    checkout_page,
    connect,
    documents,
    errors,
    limits,
    receiver,
    security,
)

__all__ = ["create_app"]


def create_app(test_config: Mapping[str, Any] | None = None, kit: Kit | None = None) -> Flask:
    """The receiver app. ``kit`` defaults to one built from the instance folder's settings."""
    setup_logging()  # under gunicorn too: what the receiver refuses is logged, with why
    app = Flask(__name__)
    kit = kit or Kit.create()
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=kit.settings.max_body_bytes, JSON_SORT_KEYS=False,
        SECRET_KEY=session_secret(kit.settings), SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=session_limits(kit.settings).max_age,
        SESSION_COOKIE_SECURE=kit.settings.public_url.startswith("https://"))
    if test_config:
        app.config.update(test_config)
    app.extensions["invoicekit"] = kit
    app.register_blueprint(receiver.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(connect.bp)
    app.register_blueprint(checkout.bp)
    app.register_blueprint(checkout_page.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(backoffice.bp)
    errors.register(app)
    security.register(app, kit.settings.office)
    limits.register(app, kit.settings.office)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return app
