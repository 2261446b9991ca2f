"""The inbox: deliveries stored on receipt, then processed once, retried, or dead.

A delivery is stored (once per shop and dedupe key) before the shop gets its 2xx, and ends
``done`` or ``dead`` with a reason the merchant can see and replay (invariant I1). Processing
reads the stored body through the platform plugin again, completes each snapshot from the
shop's API outside any transaction, then reconciles and executes inside one transaction that
also records the delivery's outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from requests.structures import CaseInsensitiveDict
from sqlalchemy import Engine, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.context import ParsedDelivery
from core.errors import (
    ConfigurationError,
    InvoicekitError,
    NotFound,
    RetryableError,
    describe,
)
from core.execute import process_snapshot
from core.hooks import Hooks
from core.ledger.db import session_scope
from core.ledger.models import Delivery, ShopConnection
from core.ledger.store import Ledger

__all__ = ["DEFAULT_BACKOFF", "KEPT_HEADERS", "Backoff", "Processed", "due_deliveries",
           "process_delivery", "replay_delivery", "store_delivery", "unfinished_deliveries"]

log = logging.getLogger(__name__)

# Headers kept with a delivery: what plugins read again when processing. Never secrets.
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-WC-Webhook-Source", "X-WC-Webhook-Topic",
                "X-WC-Webhook-Resource", "X-WC-Webhook-Event", "X-WC-Webhook-ID",
                "X-WC-Webhook-Delivery-ID", "webhook-id", "webhook-timestamp",
                "X-Shopware-Event-Id", "sw-version")


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: ``base`` seconds, doubling up to ``cap``, then dead."""

    base: float = 10.0
    cap: float = 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> float:
        return min(self.base * 2 ** max(attempts - 1, 0), self.cap)


DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True)
class Processed:
    """What processing a delivery did: its status and, when retrying, the delay."""

    delivery_id: int
    status: str
    retry_in: float | None = None
    error: str | None = None


def _insert(dialect: str):  # type: ignore[no-untyped-def]
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def store_delivery(ledger: Ledger, connection_id: int, parsed: ParsedDelivery,
                   body: bytes, headers: Mapping[str, str]) -> tuple[int, bool]:
    """Store a verified delivery once; return its id and whether it is new.

    A delivery the plugin ignores (another payment method, a draft) is recorded as
    ``ignored`` with the reason, so that every acknowledged delivery can be seen, but
    without its body: it concerns no invoice order, and the kit keeps no data it does not
    need.
    """
    kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    values = dict(connection_id=connection_id, dedupe_key=parsed.dedupe_key[:64],
                  topic=parsed.topic[:64], shop_order_id=parsed.order_id, headers=kept,
                  body=b"" if parsed.ignored else body,
                  status="ignored" if parsed.ignored else "pending",
                  error=parsed.ignored, attempts=0, received_at=datetime.now(UTC))
    session = ledger.session
    statement = _insert(session.get_bind().dialect.name)(Delivery).values(**values)
    statement = statement.on_conflict_do_nothing(
        index_elements=[Delivery.connection_id, Delivery.dedupe_key]).returning(Delivery.id)
    new_id = session.execute(statement).scalar_one_or_none()
    if new_id is not None:
        return new_id, True
    existing = session.scalars(select(Delivery.id).where(
        Delivery.connection_id == connection_id,
        Delivery.dedupe_key == values["dedupe_key"])).one()
    return existing, False


def _snapshots(hooks: Hooks, delivery: Delivery, connection: ShopConnection) -> list[Any]:
    headers: Mapping[str, str] = CaseInsensitiveDict(delivery.headers)
    parsed = hooks.parse_delivery(connection.platform, connection.name, delivery.body, headers,
                                  connection.platform_settings)
    return [hooks.enrich_snapshot(connection.platform, s, connection.platform_settings)
            for s in parsed.snapshots]


def process_delivery(engine: Engine, hooks: Hooks, delivery_id: int,
                     backoff: Backoff = DEFAULT_BACKOFF) -> Processed:
    """Process one stored delivery; safe to call again for one that is done or dead."""
    with session_scope(engine, write=False) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return Processed(delivery_id, "missing", error="no such delivery")
        if delivery.status in ("done", "dead", "ignored"):
            return Processed(delivery_id, delivery.status, error=delivery.error)
        connection = delivery.connection
        session.expunge(connection)
        session.expunge(delivery)

    error: str | None = None
    permanent = False
    try:
        snapshots = _snapshots(hooks, delivery, connection)  # shop I/O: outside transactions
        with session_scope(engine) as session:
            ledger = Ledger(session)
            for snapshot in snapshots:
                outcome = process_snapshot(ledger, hooks, snapshot)
                if outcome.failure is not None:
                    error, permanent = outcome.failure.error, outcome.failure.permanent
                    break
            # the delivery's outcome commits with the operations it caused
            return _finish(session, delivery_id, error, permanent, backoff)
    except RetryableError as exc:
        error = str(exc)
    except InvoicekitError as exc:
        error, permanent = str(exc), True
    except Exception as exc:  # a bug or a database hiccup: retry, then dead
        error = describe(exc)
        log.error("processing delivery %s failed: %s", delivery_id, error,
                  exc_info=not error.startswith("database error"))
    with session_scope(engine) as session:
        return _finish(session, delivery_id, error, permanent, backoff)


def _finish(session: Session, delivery_id: int, error: str | None, permanent: bool,
            backoff: Backoff) -> Processed:
    """Record a processing attempt's outcome on the delivery, in ``session``."""
    now = datetime.now(UTC)
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    delivery.attempts += 1
    delivery.error = error
    if error is None:
        delivery.status, delivery.processed_at, delivery.next_attempt_at = "done", now, None
        return Processed(delivery_id, "done")
    if permanent or delivery.attempts >= backoff.max_attempts:
        if not permanent:
            error = f"gave up after {delivery.attempts} attempts: {error}"
            delivery.error = error
        delivery.status, delivery.next_attempt_at = "dead", None
        log.warning("delivery %s is dead: %s", delivery_id, error)
        return Processed(delivery_id, "dead", error=error)
    delay = backoff.delay(delivery.attempts)
    delivery.status = "retrying"
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return Processed(delivery_id, "retrying", retry_in=delay, error=error)


def due_deliveries(engine: Engine, *, older_than: timedelta = timedelta(minutes=10)
                   ) -> list[int]:
    """Deliveries the queue may have lost (a crash): pending, or overdue for their retry,
    for longer than ``older_than``."""
    cutoff = datetime.now(UTC) - older_than
    with session_scope(engine, write=False) as session:
        return list(session.scalars(select(Delivery.id).where(or_(
            (Delivery.status == "pending") & (Delivery.received_at <= cutoff),
            (Delivery.status == "retrying") & (Delivery.next_attempt_at <= cutoff),
        )).order_by(Delivery.id)))


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
