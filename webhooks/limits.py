"""Rate limits, all in :data:`LIMITS`: how often a client may call an endpoint a minute.

Past its limit a request gets 429 with ``Retry-After`` (seconds until the minute is over)
and is not run: the back office's sign-in shows its page again with a message, the HTTP
API answers JSON. The numbers are ``[office]`` settings (0 turns a limit off).

The counters live in the ledger database (:class:`~core.ledger.models.RateLimitWindow`), one
row per client and minute, counted up in one statement: every gunicorn process and every
receiver host counts into the same row, so the limit holds however many there are, and no
other service is needed. A counted request costs one small write; rows an hour old are
deleted when a new minute's row is made. The client address is ``request.remote_addr``
(see ``[office] trusted_proxies`` in :mod:`webhooks.security` behind a reverse proxy).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from sqlalchemy import Engine, delete, select

from core.ledger.db import insert, session_scope
from core.ledger.models import ApiKey, RateLimitWindow
from webhooks.receiver import current_kit
from webhooks.security import setting

__all__ = ["LIMITS", "Limit", "count", "register"]

log = logging.getLogger("invoicekit.receiver")

WINDOW = timedelta(minutes=1)
KEEP = timedelta(hours=1)  # counters older than this are deleted
_KEY_PREFIX = re.compile(r"Bearer ik_([0-9a-f]{12})_")  # core.risk.apikeys' key format


def _address() -> str:
    return request.remote_addr or "unknown"


def _api_caller() -> str:
    """The API key's prefix when it names a key in use, else the client address: made-up
    prefixes do not open fresh counters."""
    found = _KEY_PREFIX.match(request.headers.get("Authorization", ""))
    if found:
        with session_scope(current_kit().engine, write=False) as session:
            if session.scalar(select(ApiKey.id).where(ApiKey.prefix == found[1],
                                                      ApiKey.revoked_at.is_(None))):
                return f"api:key:{found[1]}"
    return f"api:address:{_address()}"


def _sign_in_again(message: str) -> Response:
    return make_response(render_template(
        "office/sign_in.html", next=request.form.get("next", ""), error=message), 429)


@dataclass(frozen=True)
class Limit:
    """``default`` requests a minute per ``caller``; ``setting`` in ``[office]`` changes it.
    Past it, ``refuse`` answers with a message on too many ``what``."""

    setting: str
    default: int
    caller: Callable[[], str]
    what: str
    refuse: Callable[[str], Response]


LIMITS: dict[str, Limit] = {  # by endpoint; "<blueprint>.*" for all of a blueprint's
    "backoffice.sign_in_post": Limit(
        "sign_in_per_minute", 10, lambda: f"sign-in:{_address()}",
        "sign-in attempts from this address", _sign_in_again),
    "api.*": Limit("api_per_minute", 120, _api_caller, "requests",
                   lambda message: make_response(jsonify(error=message), 429)),
}
LIMITS["connect.*"] = LIMITS["api.*"]  # the plugin's connect, health and disconnect
LIMITS["checkout.*"] = LIMITS["api.*"]  # checkout sessions (Billie's widget)
LIMITS["checkout_page.confirm"] = Limit(  # the buyer's page: its token is the only key
    "checkout_confirm_per_minute", 20, lambda: f"checkout:{_address()}",
    "confirmations from this address",
    lambda message: make_response(jsonify(error=message), 429))


def register(app: Flask, office: Mapping[str, Any]) -> None:
    """Count and refuse on ``app`` the requests of :data:`LIMITS`, as ``office`` sets them."""
    app.extensions["invoicekit.limits"] = {
        endpoint: (limit, per_minute) for endpoint, limit in LIMITS.items()
        if (per_minute := setting(office, limit.setting, limit.default))}
    app.before_request(_check)


def count(engine: Engine, key: str, now: datetime) -> tuple[int, datetime]:
    """Count one request of ``key`` in the minute of ``now``: the minute's count so far, and
    when the minute ends."""
    start = datetime.fromtimestamp(now.timestamp() // 60 * 60, UTC)
    with session_scope(engine) as session:
        upsert = insert(session, RateLimitWindow).values(key=key, window_start=start, hits=1)
        hits = session.execute(upsert.on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"hits": RateLimitWindow.hits + 1},
        ).returning(RateLimitWindow.hits)).scalar_one()
        if hits == 1:
            session.execute(delete(RateLimitWindow).where(
                RateLimitWindow.window_start < start - KEEP))
    return hits, start + WINDOW


def _check() -> Response | None:
    limits = current_app.extensions["invoicekit.limits"]
    found = limits.get(request.endpoint) or limits.get(f"{request.blueprint}.*")
    if found is None:
        return None
    limit, per_minute = found
    now = datetime.now(UTC)
    hits, ends = count(current_kit().engine, limit.caller(), now)
    if hits <= per_minute:
        return None
    wait = max(1, math.ceil((ends - now).total_seconds()))
    log.warning("%s %s -> 429: past %s = %d", request.method, request.path, limit.setting,
                per_minute)
    answer = limit.refuse(f"Too many {limit.what}: at most {per_minute} a minute. "
                          f"Try again in {wait} seconds.")
    answer.headers["Retry-After"] = str(wait)
    return answer
