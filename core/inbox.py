"""The inbox: deliveries stored on receipt, then processed once, retried, or dead.

A delivery is stored (once per shop and dedupe key) before the shop gets its 2xx, and ends
``done`` or ``dead`` with a reason the merchant can see and replay (invariant I1). Processing
reads the stored body through the platform plugin again, completes each snapshot from the
shop's API outside any transaction, then hands each snapshot to the executor (which commits
every operation's record before a remote provider is called) and each provider event to its
order; the delivery's outcome is recorded last. A crash in between leaves the delivery
pending: processing it again finds every finished operation by its key.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import NamedTuple

from requests.structures import CaseInsensitiveDict
from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session, joinedload

from core.context import ParsedDelivery
from core.errors import (
    ConfigurationError,
    InvoicekitError,
    NotFound,
    RetryableError,
    describe,
)
from core.execute import followed_refusal, process_snapshot, refuse_change
from core.hooks import Hooks
from core.ledger.db import insert_skipping, session_scope
from core.ledger.models import Delivery, Order, ShopConnection
from core.ledger.store import Ledger
from core.outage import is_outage
from core.provider_events import record_provider_event
from core.retry import DEFAULT_BACKOFF, Backoff
from core.snapshot import OrderSnapshot
from core.state import Status
from core.sync.drift import Drifted, compare_processed, tell_drift

__all__ = [
    "KEPT_HEADERS",
    "Processed",
    "Stored",
    "due_deliveries",
    "followed_snapshots",
    "ignored_reason",
    "mark_unqueued",
    "process_delivery",
    "replay_delivery",
    "replay_order_deliveries",
    "store_delivery",
    "take_unqueued",
    "unfinished_deliveries",
]

log = logging.getLogger(__name__)

# Headers kept with a delivery: what plugins read again when processing. Never secrets.
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-WC-Webhook-Source", "X-WC-Webhook-Topic",
                "X-WC-Webhook-Resource", "X-WC-Webhook-Event", "X-WC-Webhook-ID",
                "X-WC-Webhook-Delivery-ID", "webhook-id", "webhook-timestamp",
                "X-Shopware-Event-Id", "sw-version")


@dataclass(frozen=True)
class Processed:
    """What processing a delivery did: its status and, when retrying, the delay;
    ``attempted`` is false when it was not processed (done before, held elsewhere)."""

    delivery_id: int
    status: str
    retry_in: float | None = None
    error: str | None = None
    attempted: bool = True


def followed_snapshots(ledger: Ledger, connection_id: int,
                       parsed: ParsedDelivery) -> tuple[OrderSnapshot, ...]:
    """The snapshots of a delivery the kit processes: all of them, or, of a delivery the
    plugin would ignore (another payment method now, a status it does not place), those of
    orders the ledger holds open. An order placed by invoice is followed whatever its shop
    says later: its invoice or authorisation stays with the provider until the shop cancels
    or refunds it."""
    if not parsed.ignored:
        return parsed.snapshots
    if not parsed.snapshots:
        return ()
    held = set(ledger.session.scalars(select(Order.shop_order_id).where(
        Order.connection_id == connection_id,
        Order.shop_order_id.in_([s.order_id for s in parsed.snapshots]),
        Order.status.in_([status.value for status in Status if status.is_open]))))
    return tuple(s for s in parsed.snapshots if s.order_id in held)


def ignored_reason(ledger: Ledger, connection_id: int, parsed: ParsedDelivery) -> str | None:
    """Why the kit ignores a delivery (the plugin's reason), or ``None`` when it processes
    it: a delivery the plugin would ignore is processed all the same when it carries an
    order the ledger holds open (:func:`followed_snapshots`)."""
    if parsed.ignored and not followed_snapshots(ledger, connection_id, parsed):
        return parsed.ignored
    return None


class Stored(NamedTuple):
    """A delivery stored by :func:`store_delivery`: its id, whether it is new (else the
    shop sent it before), and why the kit ignores it (``None``: it is processed)."""

    delivery_id: int
    new: bool
    ignored: str | None


def store_delivery(ledger: Ledger, connection_id: int, parsed: ParsedDelivery,
                   body: bytes, headers: Mapping[str, str]) -> Stored:
    """Store a verified delivery once.

    A delivery the kit ignores (:func:`ignored_reason`: another payment method, a draft) is
    recorded as ``ignored`` with the reason, so that every acknowledged delivery can be
    seen, but without its body: it concerns no invoice order, and the kit keeps no data it
    does not need.
    """
    ignored = ignored_reason(ledger, connection_id, parsed)
    kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    values = dict(connection_id=connection_id, dedupe_key=parsed.dedupe_key[:64],
                  topic=parsed.topic[:64], shop_order_id=parsed.order_id, headers=kept,
                  body=b"" if ignored else body,
                  status="ignored" if ignored else "pending",
                  error=ignored, attempts=0, received_at=datetime.now(UTC))
    session = ledger.session
    new_id = session.execute(insert_skipping(
        session, Delivery.__table__, ("connection_id", "dedupe_key"), returning="id"),
        values).scalar_one_or_none()
    if new_id is not None:
        return Stored(new_id, True, ignored)
    existing = session.scalars(select(Delivery.id).where(
        Delivery.connection_id == connection_id,
        Delivery.dedupe_key == values["dedupe_key"])).one()
    return Stored(existing, False, ignored)


def _parse(hooks: Hooks, delivery: Delivery, connection: ShopConnection) -> ParsedDelivery:
    headers: Mapping[str, str] = CaseInsensitiveDict(delivery.headers)
    return hooks.parse_delivery(connection.platform, connection.name, delivery.body, headers,
                                connection.platform_settings)


def process_delivery(engine: Engine, hooks: Hooks, delivery_id: int,
                     backoff: Backoff = DEFAULT_BACKOFF) -> Processed:
    """Process one stored delivery; safe to call again for one that is done or dead, and
    from any number of workers at once: one of them holds it, the others leave it alone."""
    with _claim(engine, delivery_id) as finishing:
        with session_scope(engine, write=False) as session:
            delivery = session.get(Delivery, delivery_id,
                                   options=[joinedload(Delivery.connection)])
            if delivery is None:
                return Processed(delivery_id, "missing", error="no such delivery",
                                 attempted=False)
            if delivery.status in ("done", "dead", "ignored"):
                return Processed(delivery_id, delivery.status, error=delivery.error,
                                 attempted=False)
            if finishing is None:
                return Processed(delivery_id, "busy", error="another worker is processing it",
                                 attempted=False)
            connection = delivery.connection
            session.expunge(connection)
            session.expunge(delivery)
        error, permanent, retry_after, waiting = _process(engine, hooks, delivery, connection,
                                                          backoff)
        with finishing() as session:
            return _finish(session, delivery_id, error, permanent, backoff, retry_after,
                           waiting)


def _process(engine: Engine, hooks: Hooks, delivery: Delivery, connection: ShopConnection,
             backoff: Backoff) -> tuple[str | None, bool, float | None, bool]:
    """Run a delivery's snapshots and events; its error, whether that is permanent, the
    delay a provider asked for, and whether it only waits for an operation of its order."""
    error: str | None = None
    permanent = waiting = False
    retry_after: float | None = None
    try:
        parsed = _parse(hooks, delivery, connection)
        followed = parsed.snapshots
        if parsed.ignored:  # only then is the ledger asked which orders it follows
            with session_scope(engine, write=False) as session:
                followed = followed_snapshots(Ledger(session), connection.id, parsed)
        # the shop's API is asked outside any transaction
        snapshots = [hooks.enrich_snapshot(connection.platform, s, connection.platform_settings)
                     for s in followed]
        for snapshot in snapshots:
            if parsed.ignored and not snapshot.cancelled:
                # an order the kit holds, whatever the shop says now: the merchant is told
                # (a cancellation tells by its own credit)
                with session_scope(engine) as session:
                    refuse_change(Ledger(session), hooks, snapshot, followed_refusal(
                        parsed.ignored))
            drifted: list[Drifted] = []
            outcome = process_snapshot(engine, hooks, snapshot, backoff, then=partial(
                _compare, snapshot=snapshot, found=drifted))
            if outcome.failure is not None:
                error, permanent = outcome.failure.error, outcome.failure.permanent
                retry_after, waiting = outcome.failure.retry_after, outcome.failure.waiting
                break
            for drift in drifted:
                tell_drift(engine, hooks, snapshot, drift)
        if error is None:
            for event in parsed.events:
                with session_scope(engine) as session:
                    log.info("delivery %s: %s", delivery.id, record_provider_event(
                        Ledger(session), hooks, connection.merchant_id, event))
    except RetryableError as exc:
        error, retry_after = str(exc), exc.retry_after
    except InvoicekitError as exc:
        error, permanent = str(exc), True
    except Exception as exc:  # a bug or a database hiccup: retry, then dead
        if is_outage(exc):  # not an attempt: the queue tries again once it is back
            raise
        error = describe(exc)
        log.error("processing delivery %s failed: %s", delivery.id, error,
                  exc_info=not error.startswith("database error"))
    return error, permanent, retry_after, waiting


def _compare(ledger: Ledger, order: Order, connection: ShopConnection, *,
             snapshot: OrderSnapshot, found: list[Drifted]) -> None:
    """What the ledger could not follow of the order, recorded (:mod:`core.sync.drift`) in
    the transaction that processed the snapshot, in a savepoint: a failure here is logged
    and never fails the delivery (an outage puts it back)."""
    try:
        with ledger.session.begin_nested():
            found.append(compare_processed(ledger, order, connection, snapshot))
    except Exception as exc:
        if is_outage(exc):  # the delivery is processed again once the database is back
            raise
        log.exception("recording the drift of order %s/%s failed", snapshot.shop,
                      snapshot.order_id)


Finishing = Callable[[], AbstractContextManager[Session]]
_HELD: set[tuple[int, int]] = set()
_HELD_LOCK = threading.Lock()


@contextmanager
def _claim(engine: Engine, delivery_id: int) -> Iterator[Finishing | None]:
    """Hold a delivery for this worker while it is processed: yield how to open the session
    that records its outcome, or ``None`` when another worker holds it.

    On PostgreSQL the hold is the delivery's row lock, taken with ``SKIP LOCKED`` in a
    transaction that stays open until the outcome is recorded in it: it spans processes and
    machines, and ends when a worker dies (its connection closes). On SQLite, the embedded
    default with one consumer process, the hold is kept in the process.
    """
    if engine.dialect.name == "postgresql":
        with session_scope(engine) as session:
            held = session.execute(select(Delivery.id).where(Delivery.id == delivery_id)
                                   .with_for_update(skip_locked=True)).first()
            yield (lambda: nullcontext(session)) if held else None
        return
    key = (id(engine), delivery_id)
    with _HELD_LOCK:
        held = key not in _HELD
        _HELD.add(key)
    if not held:
        yield None
        return
    try:
        yield lambda: session_scope(engine)
    finally:
        with _HELD_LOCK:
            _HELD.discard(key)


def _finish(session: Session, delivery_id: int, error: str | None, permanent: bool,
            backoff: Backoff, retry_after: float | None = None,
            waiting: bool = False) -> Processed:
    """Record a processing attempt's outcome on the delivery, in ``session``. Waiting for
    an operation of its order (its backoff, another worker) is not an attempt: the delivery
    comes back when the operation may run."""
    now = datetime.now(UTC)
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    if not waiting:
        delivery.attempts += 1
    delivery.error = error
    if error is None:
        delivery.status, delivery.processed_at, delivery.next_attempt_at = "done", now, None
        return Processed(delivery_id, "done")
    if permanent or backoff.exhausted(delivery.attempts):
        if not permanent:
            error = f"gave up after {delivery.attempts} attempts: {error}"
            delivery.error = error
        delivery.status, delivery.next_attempt_at = "dead", None
        log.warning("delivery %s is dead: %s", delivery_id, error)
        return Processed(delivery_id, "dead", error=error)
    delay = (retry_after or backoff.base) if waiting else \
        backoff.delay(delivery.attempts, retry_after)
    delivery.status = "retrying"
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return Processed(delivery_id, "retrying", retry_in=delay, error=error)


def due_deliveries(engine: Engine, *, older_than: timedelta = timedelta(minutes=10)
                   ) -> list[int]:
    """Deliveries the queue may have lost (a crash): pending, or overdue for their retry,
    for longer than ``older_than``, and not held by a worker."""
    cutoff = datetime.now(UTC) - older_than
    with session_scope(engine, write=False) as session:
        # SKIP LOCKED (PostgreSQL): a delivery a worker is processing is not lost
        due = session.scalars(select(Delivery.id).where(or_(
            (Delivery.status == "pending") & (Delivery.received_at <= cutoff),
            (Delivery.status == "retrying") & (Delivery.next_attempt_at <= cutoff),
        )).order_by(Delivery.id).with_for_update(skip_locked=True))
        return [delivery_id for delivery_id in due if (id(engine), delivery_id) not in _HELD]


def mark_unqueued(engine: Engine, delivery_ids: list[int]) -> None:
    """Mark pending deliveries the queue could not take (it was down): a pending delivery's
    ``next_attempt_at`` set means *to be queued*; every consumer queues such deliveries
    within seconds (:func:`take_unqueued`)."""
    with session_scope(engine) as session:
        session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids),
                                               Delivery.status == "pending")
                        .values(next_attempt_at=datetime.now(UTC)))


def take_unqueued(engine: Engine, limit: int = 500) -> list[int]:
    """The deliveries marked by :func:`mark_unqueued`, their mark cleared (by one consumer:
    the one whose update cleared it), for the caller to queue."""
    with session_scope(engine, write=False) as session:  # mostly none: no write lock
        marked = list(session.scalars(select(Delivery.id).where(
            Delivery.status == "pending", Delivery.next_attempt_at.is_not(None))
            .order_by(Delivery.id).limit(limit)))
    if not marked:
        return []
    with session_scope(engine) as session:
        return sorted(session.scalars(
            update(Delivery).where(Delivery.id.in_(marked), Delivery.status == "pending",
                                   Delivery.next_attempt_at.is_not(None))
            .values(next_attempt_at=None).returning(Delivery.id)))


def unfinished_deliveries(engine: Engine) -> tuple[list[int], list[tuple[int, datetime]]]:
    """Pending deliveries, and retrying ones with their next attempt time, oldest first."""
    with session_scope(engine, write=False) as session:
        rows = session.execute(select(Delivery.id, Delivery.status, Delivery.next_attempt_at)
                               .where(Delivery.status.in_(("pending", "retrying")))
                               .order_by(Delivery.id)).all()
    pending = [row.id for row in rows if row.status == "pending"]
    retrying = [(row.id, row.next_attempt_at or datetime.now(UTC)) for row in rows
                if row.status == "retrying"]
    return pending, retrying


def replay_delivery(engine: Engine, delivery_id: int) -> None:
    """Make a dead (or done) delivery pending again so the queue processes it anew."""
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise NotFound(f"no delivery {delivery_id}")
        if delivery.status == "ignored":
            raise ConfigurationError(f"delivery {delivery_id} was ignored ({delivery.error}) "
                                     "and its body not kept; after changing the shop's "
                                     "settings, the shop's next change of the order counts")
        ledger = Ledger(session)
        if delivery.shop_order_id:
            with suppress(NotFound):  # an order never placed has nothing to reopen
                ledger.reopen_dead_operations(
                    ledger.find_order(delivery.connection.name, delivery.shop_order_id))
        delivery.status, delivery.error, delivery.next_attempt_at = "pending", None, None
        delivery.attempts = 0


def replay_order_deliveries(engine: Engine, shop: str, shop_order_id: str) -> list[int]:
    """Make the order's dead deliveries pending again (after its dead operation was retried
    by hand) and return their ids for the queue: each ends done or dead anew."""
    with session_scope(engine, write=False) as session:
        dead = list(session.scalars(
            select(Delivery.id).join(ShopConnection)
            .where(ShopConnection.name == shop, Delivery.shop_order_id == shop_order_id,
                   Delivery.status.in_(("dead", "retrying"))).order_by(Delivery.id)))
    for delivery_id in dead:
        replay_delivery(engine, delivery_id)
    return dead
