"""The reconciliation poll: read the orders a shop changed since the last poll, feed them
through the inbox exactly like webhooks, and report the drift between shop and ledger.

WooCommerce never delivers a failed webhook again, so a change made while the receiver was
down is found here. Each order read becomes a stored delivery of the platform's own format
(deduplicated like any delivery: an order unchanged since the last poll is not stored
twice), processed by the queue; an order whose webhook arrives later as well finds its
operations done, by their keys. The drift is where the shop's order and the **ledger**
differ (:mod:`core.sync.drift`): orders it never saw, a status, total or refunds it does not
have. Each is recorded when the poll reads the order (before the new deliveries are
processed, which may bring the ledger in line), orders with drift that were not modified
are read again, and every poll reports the drift still open — until the two agree or the
merchant acknowledges it.

An order the platform plugin cannot map (a payload it refuses) does not stop the poll: it is
stored as a dead delivery with the reason, its body kept, so that it is listed with the
other failed deliveries and can be replayed once the order or the plugin is fixed; the poll
reports it (``not_mapped``) and reads on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from core.context import FetchedOrder, ParsedDelivery
from core.errors import (
    ConfigurationError,
    InvoicekitError,
    PayloadError,
    RetryableError,
    describe,
)
from core.hooks import Hooks
from core.inbox import followed_snapshots, ignored_reason, store_delivery
from core.ledger.db import session_scope
from core.ledger.models import Delivery, Order, ShopConnection, ShopSync
from core.ledger.store import Ledger
from core.snapshot import OrderSnapshot
from core.sync.checks import ShopCheck, check_shop, delivery_url
from core.sync.drift import as_entry, compare, open_drift
from core.sync.drift import record as record_drift

__all__ = ["NOT_MAPPED", "OVERLAP", "SyncReport", "sync_all", "sync_shop"]

log = logging.getLogger(__name__)

# Each poll reads a little before the last one ended: shop clocks and commits lag.
OVERLAP = timedelta(minutes=5)
# The drift entry of an order the plugin could not map.
NOT_MAPPED = "not_mapped"


@dataclass
class SyncReport:
    """What one poll read, stored and found."""

    shop: str
    since: datetime
    until: datetime
    read: int = 0
    ignored: int = 0
    fed: list[int] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    checks: ShopCheck | None = None  # the shop's webhooks, where the platform checks them

    @property
    def not_mapped(self) -> list[dict[str, Any]]:
        """The orders the plugin could not map: ``order_id``, ``reason``, ``delivery``."""
        return [entry for entry in self.drift if entry["drift"] == NOT_MAPPED]


def _since(ledger: Ledger, connection: ShopConnection) -> datetime:
    """Where the next poll starts: the last finished poll's end, less the overlap; the
    connection's creation for the first."""
    last = ledger.session.scalar(
        select(ShopSync.until).where(ShopSync.connection_id == connection.id,
                                     ShopSync.finished_at.is_not(None),
                                     ShopSync.error.is_(None))
        .order_by(ShopSync.until.desc()).limit(1))
    return (last - OVERLAP) if last else connection.created_at


def sync_shop(engine: Engine, hooks: Hooks, shop: str, *, since: datetime | None = None,
              feed: Callable[[int], object] | None = None,
              public_url: str | None = None) -> SyncReport:
    """Poll one shop: store every changed invoice order as a delivery, hand each new one to
    ``feed`` (the queue, or processing at once), record the poll and its drift; with the
    kit's ``public_url``, check the shop's webhooks as well (:mod:`core.sync.checks`)."""
    until = datetime.now(UTC)
    with session_scope(engine, write=False) as session:
        ledger = Ledger(session)
        connection = ledger.connection(shop)
        platform, settings = connection.platform, dict(connection.platform_settings)
        connection_id, status_map = connection.id, dict(connection.status_map)
        url = delivery_url(public_url, connection) if public_url else None
        since = since or _since(ledger, connection)
    orders = hooks.fetch_orders(platform, settings, modified_since=since)  # credentials?
    report = SyncReport(shop, since, until)
    with session_scope(engine) as session:  # the poll is recorded even if it fails
        record = ShopSync(connection_id=connection_id, since=since, until=until,
                          started_at=until)
        session.add(record)
        session.flush()
        record_id = record.id
    error = None
    read_ids: set[str] = set()
    try:
        for fetched in orders:
            report.read += 1
            try:
                parsed = hooks.parse_delivery(platform, shop, fetched.body, fetched.headers,
                                              settings)
            except RetryableError:
                raise
            except Exception as exc:  # one order the plugin cannot map stops nothing else
                report.drift.append(_not_mapped(engine, connection_id, fetched, exc))
                continue
            with session_scope(engine) as session:
                ledger = Ledger(session)
                read_ids.update(s.order_id for s in parsed.snapshots)
                if ignored_reason(ledger, connection_id, parsed):
                    report.ignored += 1
                    for snapshot in parsed.snapshots:  # paid otherwise now: nothing to follow
                        record_drift(ledger, connection_id, snapshot.order_id,
                                     snapshot.order_number, [])
                    continue
                for snapshot in followed_snapshots(ledger, connection_id, parsed):
                    _compare(ledger, connection_id, status_map, snapshot)
                delivery_id, new, _ = store_delivery(ledger, connection_id, parsed,
                                                     fetched.body, fetched.headers)
            if new:
                report.fed.append(delivery_id)
        _recheck(engine, hooks, shop, platform, settings, status_map, connection_id, read_ids)
        with session_scope(engine, write=False) as session:
            report.drift += [as_entry(row) for row in open_drift(
                Ledger(session), connection_id, acknowledged=False)]
        if url is not None:
            report.checks = check_shop(hooks, platform, settings, url)
    except Exception as exc:
        error = str(exc) if isinstance(exc, InvoicekitError) else describe(exc)
        raise
    finally:  # what was stored before a failure is fed all the same
        with session_scope(engine) as session:
            record = session.get(ShopSync, record_id)
            assert record is not None
            record.finished_at, record.error = datetime.now(UTC), error
            record.orders_read, record.fed = report.read, len(report.fed)
            record.drift = report.drift
        if feed is not None:
            for delivery_id in report.fed:
                feed(delivery_id)
    return report


def _compare(ledger: Ledger, connection_id: int, status_map: Mapping[str, str],
             snapshot: OrderSnapshot) -> None:
    """Compare one order of the shop with the ledger and record the difference."""
    order = ledger.session.scalars(select(Order).where(
        Order.connection_id == connection_id,
        Order.shop_order_id == snapshot.order_id)).one_or_none()
    record_drift(ledger, connection_id, snapshot.order_id, snapshot.order_number,
                 compare(ledger, order, snapshot, status_map))


def _recheck(engine: Engine, hooks: Hooks, shop: str, platform: str,
             settings: Mapping[str, Any], status_map: Mapping[str, str], connection_id: int,
             read: set[str]) -> None:
    """Read again each order with open drift that the poll did not read (it was not
    modified): a difference lasts until the two agree, whichever side changed. An order
    that cannot be read keeps its drift."""
    with session_scope(engine, write=False) as session:
        drifting = dict.fromkeys(row.shop_order_id for row in open_drift(
            Ledger(session), connection_id, acknowledged=False))
    for order_id in drifting:
        if order_id in read:
            continue
        try:
            fetched = next(iter(hooks.fetch_orders(platform, settings, order_id=order_id)),
                           None)
            if fetched is None:
                continue
            parsed = hooks.parse_delivery(platform, shop, fetched.body, fetched.headers,
                                          settings)
        except InvoicekitError as exc:
            log.info("order %s/%s with drift cannot be read again: %s", shop, order_id, exc)
            continue
        with session_scope(engine) as session:
            ledger = Ledger(session)
            followed = followed_snapshots(ledger, connection_id, parsed)
            if ignored_reason(ledger, connection_id, parsed):
                for snapshot in parsed.snapshots:
                    record_drift(ledger, connection_id, snapshot.order_id,
                                 snapshot.order_number, [])
            for snapshot in followed:
                _compare(ledger, connection_id, status_map, snapshot)


def _not_mapped(engine: Engine, connection_id: int, fetched: FetchedOrder,
                exc: Exception) -> dict[str, Any]:
    """Store an order the plugin refused as a dead delivery with the reason (once per
    content, like any delivery) and return its drift entry."""
    if isinstance(exc, PayloadError):
        reason = "cannot map the order: " + "; ".join(
            f"{name} {', '.join(messages)}" for name, messages in exc.field_errors.items())
    else:
        reason = str(exc) if isinstance(exc, InvoicekitError) else describe(exc)
    if not isinstance(exc, InvoicekitError):
        log.error("mapping order %s failed: %s", fetched.order_id, reason, exc_info=exc)
    key = "unmapped-" + hashlib.sha256(fetched.body).hexdigest()[:48]
    with session_scope(engine) as session:
        delivery_id, new, _ = store_delivery(
            Ledger(session), connection_id, ParsedDelivery(key, "poll", fetched.order_id),
            fetched.body, fetched.headers)
        if new:
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            delivery.status, delivery.error = "dead", reason
    return {"order_id": fetched.order_id, "order_number": fetched.order_id,
            "drift": NOT_MAPPED, "reason": reason, "delivery": delivery_id}


def sync_all(engine: Engine, hooks: Hooks, feed: Callable[[int], object],
             public_url: str | None = None) -> None:
    """Poll every shop whose connection can read orders (the worker's schedule), and check
    its webhooks with the kit's ``public_url``."""
    with session_scope(engine, write=False) as session:
        shops = list(session.scalars(select(ShopConnection.name).order_by(ShopConnection.id)))
    for shop in shops:
        try:
            report = sync_shop(engine, hooks, shop, feed=feed, public_url=public_url)
        except ConfigurationError as exc:
            log.debug("shop %s is not polled: %s", shop, exc)
            continue
        except Exception as exc:  # one shop's failure does not stop the others
            log.warning("polling shop %s failed: %s", shop, describe(exc))
            continue
        for entry in report.not_mapped:
            log.warning("shop %s: order %s cannot be mapped (delivery %s): %s", shop,
                        entry["order_id"], entry["delivery"], entry["reason"])
        for problem in report.checks.problems if report.checks else ():
            log.warning("shop %s: %s is %s: %s", shop, problem.subject, problem.state,
                        problem.fix)
        if report.fed or report.drift:
            log.info("shop %s: %s orders read, %s fed, drift %s", shop, report.read,
                     len(report.fed), report.drift)
