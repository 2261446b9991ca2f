"""``POST /webhooks/<platform>/<shop>``: verify, store once, answer 2xx in milliseconds.

Order of checks: the shop connection exists for that platform (404, the same answer for an
unknown platform, an unknown shop and a shop of another platform); a platform handshake
(WooCommerce's ping) is answered 200 and nothing else; the signature over the raw body (401);
the body is read and validated by the platform plugin (400, 422); then the delivery is stored
in the inbox — concurrent requests share one transaction and one flush to disk (group
commit, :mod:`core.ledger.group_commit`), and each is answered only once its row is durable
— and handed to the queue (202; 200 for a duplicate); a delivery the
queue cannot take (it is down) is marked in the inbox and queued by the consumers within
seconds of its return. Nothing is written before every check passed, and no provider or shop
is called inside the request.

A shop's connection is read once every few seconds per process (:class:`_Connections`), not
per request: a change this process writes is seen at once, another process's within
:data:`CONNECTION_TTL`; a signature that does not match is checked again against the
connection read afresh (a secret rotated elsewhere works at once), and a shop not found is
never remembered (a newly connected shop works at once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple, cast

from flask import Blueprint, Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from sqlalchemy import event, text
from sqlalchemy.orm import Mapper, Session, object_session

from core.context import ParsedDelivery
from core.errors import NotFound, SignatureError
from core.hooks import Hooks
from core.inbox import Stored, store_delivery
from core.kit import Kit
from core.ledger.db import schema_state, session_scope
from core.ledger.group_commit import GroupCommit
from core.ledger.models import ShopConnection
from core.ledger.store import Ledger
from core.outage import OUTAGES

__all__ = ["bp"]

bp = Blueprint("receiver", __name__)
log = logging.getLogger("invoicekit.receiver")


def current_kit() -> Kit:
    return current_app.extensions["invoicekit"]


@bp.post("/webhooks/<platform>/<shop>")
def receive(platform: str, shop: str) -> tuple[Response, int]:
    return _receive(platform, shop)


@bp.post("/webhooks/<platform>")
def receive_unnamed(platform: str) -> tuple[Response, int]:
    """For platforms posting every shop's events to one URL: the body names the shop."""
    return _receive(platform, None)


def _receive(platform: str, named: str | None) -> tuple[Response, int]:
    kit = current_kit()
    body = request.get_data(cache=False)
    headers = request.headers
    connections: _Connections = current_app.extensions[CONNECTIONS]
    # the checks read only: receivers check in parallel, and write together (_Arrival)
    connection, remembered = connections.get(kit, platform, named, body, headers)
    shop = connection.name
    if kit.hooks.is_ping(platform, body, headers):
        log.info("ping from %s/%s answered", platform, shop)
        return jsonify(status="pong"), 200
    if not _verified(kit.hooks, platform, body, headers, connection, final=not remembered):
        # a remembered connection may miss a secret rotated since: ask the database again
        connection, _ = connections.get(kit, platform, named, body, headers, fresh=True)
        _verified(kit.hooks, platform, body, headers, connection, final=True)
    parsed = kit.hooks.parse_delivery(platform, shop, body, headers,
                                      dict(connection.platform_settings))
    inbox: GroupCommit[_Arrival, Stored] = current_app.extensions[INBOX]
    delivery_id, new, ignored = inbox.write(_Arrival(connection.id, parsed, body, headers))
    OUTAGES.up("database", wrote=True)
    if ignored:
        log.info("delivery %s for %s/%s ignored: %s", delivery_id, platform, shop, ignored)
        return jsonify(status="ignored", reason=ignored, delivery=delivery_id), 200
    if not new:
        return jsonify(status="duplicate", delivery=delivery_id), 200
    # stored is enough: when the queue is down, the delivery is marked to be queued, and
    # every consumer queues it seconds after the queue is back (an outage is logged once)
    kit.queue.enqueue_or_hold(delivery_id)
    return jsonify(status="accepted", delivery=delivery_id), 202


class _Arrival(NamedTuple):
    """A verified, parsed delivery on its way into the inbox."""

    connection_id: int
    parsed: ParsedDelivery
    body: bytes
    headers: Mapping[str, str]


def _store(session: Session, arrival: _Arrival) -> Stored:
    return store_delivery(Ledger(session), *arrival)


INBOX = "invoicekit.inbox"


@bp.record_once
def _open_inbox(state: BlueprintSetupState) -> None:
    """The app's way into the inbox: concurrent requests store their deliveries in one
    transaction, and each is answered once its row is durable (group commit)."""
    state.app.extensions[INBOX] = GroupCommit(
        state.app.extensions["invoicekit"].engine, _store,
        order=lambda arrival: (arrival.connection_id, arrival.parsed.dedupe_key))
    state.app.extensions[CONNECTIONS] = _Connections()


def _verified(hooks: Hooks, platform: str, body: bytes, headers: Mapping[str, str],
              connection: _Shop, *, final: bool) -> bool:
    """Whether the delivery's signature matches one of the connection's valid secrets;
    ``final``: a mismatch raises :class:`SignatureError` (401)."""
    try:
        if hooks.verify_delivery(platform, body, headers, connection.valid_secrets()):
            return True
    except SignatureError:
        if final:
            raise
        return False
    if final:
        raise SignatureError("signature does not match")
    return False


CONNECTIONS = "invoicekit.connections"
CONNECTION_TTL = 3.0  # seconds a process's receiver reuses a shop connection it read
_changes = 0  # connections this process changed, counted: an older remembered one is stale


class _Shop(NamedTuple):
    """What the receiver needs of a shop connection, as read at one moment."""

    id: int
    name: str
    platform: str
    secrets: list[str]
    previous_secret_until: datetime | None
    platform_settings: dict[str, Any]

    @classmethod
    def of(cls, connection: ShopConnection) -> _Shop:
        return cls(connection.id, connection.name, connection.platform,
                   list(connection.secrets), connection.previous_secret_until,
                   dict(connection.platform_settings))

    def valid_secrets(self, now: datetime | None = None) -> list[str]:
        """As :meth:`ShopConnection.valid_secrets` (the same rule, on this copy)."""
        return ShopConnection.valid_secrets(cast(ShopConnection, self), now)


class _Connections:
    """The shop connections this process's receiver read in the last
    :data:`CONNECTION_TTL` seconds, by (platform, shop name or the shop's id on the
    platform). Only connections found are kept; one this process changes is dropped."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str | None, str | None], tuple[float, int, _Shop]] = {}
        self._lock = threading.Lock()

    def get(self, kit: Kit, platform: str, shop: str | None, body: bytes,
            headers: Mapping[str, str], *, fresh: bool = False) -> tuple[_Shop, bool]:
        """The connection a delivery is for, and whether it was remembered rather than read
        now (:exc:`NotFound`, 404, when there is none)."""
        external_id = None
        if shop is None:
            try:
                external_id = kit.hooks.identify_shop(platform, body, headers)
            except NotFound:
                raise NotFound(NO_SHOP) from None
        key = (platform, shop, external_id)
        known = self._known.get(key)
        now = time.monotonic()
        if not fresh and known is not None and now - known[0] < CONNECTION_TTL \
                and known[1] == _changes:
            return known[2], True
        changes = _changes
        with session_scope(kit.engine, write=False) as session:
            connection = _Shop.of(_connection(Ledger(session), platform, shop, external_id))
        with self._lock:
            if len(self._known) > 10_000:  # many shops: forget them all rather than grow
                self._known.clear()
            self._known[key] = (now, changes, connection)
        return connection, False


@event.listens_for(ShopConnection, "after_insert")
@event.listens_for(ShopConnection, "after_update")
@event.listens_for(ShopConnection, "after_delete")
def _connection_changed(mapper: Mapper[Any], connection: Any, target: ShopConnection) -> None:
    """A connection this process writes is read afresh by its receivers: now (its row is
    flushed) and once more when its transaction commits (a receiver may have read the row
    as it was before in between)."""
    _count_change()
    session = object_session(target)
    if session is not None:
        event.listen(session, "after_commit", lambda _: _count_change(), once=True)


def _count_change() -> None:
    global _changes
    _changes += 1


NO_SHOP = "no shop is connected at this address"


def _connection(ledger: Ledger, platform: str, shop: str | None,
                external_id: str | None) -> ShopConnection:
    """The shop connection the delivery is for (by name, else by the shop's id on the
    platform). An unknown platform, an unknown shop and a shop of another platform get the
    same 404, so the answer tells no shop's name."""
    try:
        if shop is None:
            assert external_id is not None
            return ledger.connection_by_external_id(platform, external_id)
        connection = ledger.connection(shop)
    except NotFound:
        raise NotFound(NO_SHOP) from None
    if connection.platform != platform:
        raise NotFound(NO_SHOP)
    return connection


@bp.route("/apps/<platform>/<action>", methods=["GET", "POST"])
def app_request(platform: str, action: str) -> tuple[Response, int]:
    """A platform's app request (Shopware's registration, confirmation, uninstall and pay
    URL); an answer the platform signs goes out byte for byte as the plugin made it."""
    kit = current_kit()
    with session_scope(kit.engine) as session:
        answer = kit.hooks.handle_app_request(
            platform, action, request.method, request.query_string.decode("latin-1"),
            request.headers, request.get_data(cache=False), Ledger(session),
            kit.settings.platforms.get(platform, {}), kit.settings.public_url)
    if answer.raw is None:
        response = jsonify(answer.body)
    else:
        response = Response(answer.raw, content_type="application/json")
    response.headers.update(dict(answer.headers))
    return response, answer.status


@bp.get("/livez")
def alive() -> tuple[Response, int]:
    """The process answers: no database or queue is touched (liveness probe)."""
    return jsonify(status="ok"), 200


@bp.get("/healthz")
def health() -> tuple[Response, int]:
    """Database and queue reachable: 200, else 503 naming the part that is not."""
    return _report(_checks(current_kit()))


@bp.get("/readyz")
def ready() -> tuple[Response, int]:
    """Ready to accept deliveries (readiness probe): the database reachable and its schema
    at this release's newest migration or newer; else 503 naming what is not. The queue is shown
    but not required: a delivery stored while it is down is queued by the sweep later."""
    kit = current_kit()
    checks = _checks(kit)
    if checks["database"] == "ok":
        try:
            behind = schema_state(kit.engine) == "behind"
            checks["schema"] = "not migrated: run `invoicekit db upgrade`" if behind else "ok"
        except Exception as exc:
            checks["schema"] = type(exc).__name__
    return _report(checks, required=("database", "schema"))


def _checks(kit: Kit) -> dict[str, str]:
    """Each part's state: ``ok`` or the kind of error met (never its message: it may carry
    a connection string)."""
    checks = {}
    try:
        with kit.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = type(exc).__name__
    try:
        kit.queue.huey.pending_count()
        checks["queue"] = "ok"
    except Exception as exc:
        checks["queue"] = type(exc).__name__
    return checks


def _report(checks: dict[str, str], required: tuple[str, ...] | None = None
            ) -> tuple[Response, int]:
    healthy = all(checks.get(name) == "ok" for name in required or checks)
    return jsonify(status="ok" if healthy else "unavailable", **checks), 200 if healthy else 503
