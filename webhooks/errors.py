"""The kit's errors mapped once to HTTP answers; no answer repeats a body or a secret."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, jsonify, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from backoffice.blueprint import http_error as office_error
from core.errors import (
    IdempotencyConflict,
    InvoicekitError,
    MalformedPayload,
    NotFound,
    PayloadError,
    RetryableError,
    SignatureError,
    Unauthenticated,
)
from core.outage import OUTAGES, is_outage

__all__ = ["STATUS", "register"]

STATUS: dict[type[InvoicekitError], int] = {
    NotFound: 404,
    SignatureError: 401,
    Unauthenticated: 401,
    MalformedPayload: 400,
    PayloadError: 422,
    IdempotencyConflict: 409,
    RetryableError: 503,
}

log = logging.getLogger("invoicekit.receiver")


def _status(exc: InvoicekitError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _answer(status: int, error: str, **extra: object) -> tuple[Response, int]:
    path = "/documents/…" if request.path.startswith("/documents/") else request.path  # a token
    log.info("%s %s -> %s: %s", request.method, path, status, error)
    return jsonify(error=error, **extra), status


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.before_request
    def note_start() -> None:
        # a request that began before an outage ended and failed in it starts no new one
        g.started = time.monotonic()

    @app.errorhandler(InvoicekitError)
    def kit_error(exc: InvoicekitError) -> tuple[Response, int]:
        status = _status(exc)
        if status == 500:
            log.error("configuration error on %s: %s", request.path, exc)
            return _answer(500, "the receiver is misconfigured; see its log")
        if isinstance(exc, PayloadError):
            return _answer(status, str(exc), fields=exc.field_errors)
        return _answer(status, str(exc))

    @app.errorhandler(DBAPIError)
    def database_down(exc: DBAPIError) -> tuple[Response, int]:
        # down, unreachable, or not migrated yet: nothing was stored, the shop may retry
        if is_outage(exc) and request.blueprint == "receiver":
            # one line when it starts, one when a delivery is stored again
            OUTAGES.down(exc, started=g.get("started"))
        else:
            log.error("the inbox cannot be written: %s", type(exc.orig).__name__)
        response, status = _answer(503, "the inbox cannot be written; retry later")
        response.headers["Retry-After"] = "30"
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int]:
        if request.path.startswith("/office/"):  # e.g. a 405, raised before any view
            return office_error(exc)
        return _answer(exc.code or 500, exc.description or exc.name)
