"""The write-back outbox: stored with what it reports, then sent, retried, or dead.

A write-back is a row of the ledger written in the transaction of the event it reports, so
it exists exactly when the event does. :func:`send_due` sends what is due through the
platform plugin, outside any transaction: one order's write-backs one at a time and in the
order they happened, each claimed first so that no two workers send it at once. A failure
waits for its backoff; after ``backoff.max_attempts`` (or at once when permanent) the
write-back is dead, listed by ``invoicekit writebacks list --dead`` and sent again by
``invoicekit writebacks retry``. The operation it reports is never touched.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload

from core.context import WriteBack
from core.einvoice.documents import document_url
from core.einvoice.links import DocumentLinks
from core.errors import NotFound, OutcomeUnknown, PermanentError, RetryableError, describe
from core.hooks import Hooks
from core.ledger.db import insert, session_scope
from core.ledger.models import Order, ShopConnection, WriteBackRecord
from core.ledger.store import Ledger
from core.retry import DEFAULT_BACKOFF, Backoff
from core.writeback.girocode import girocode_url

__all__ = ["LEASE", "Sent", "queue_writeback", "retry_writebacks", "send_due",
           "writeback_row"]

log = logging.getLogger(__name__)

# How long a worker may take to send one write-back before others count it as lost.
LEASE = timedelta(minutes=10)
UNFINISHED = ("pending", "sending", "retrying")
# Write-backs claimed in one transaction; outcomes recorded at the latest this many seconds
# after the first of them was sent (a worker killed meanwhile sends those again, uncertain).
CLAIMED_TOGETHER = 8
RECORDED_WITHIN = 0.5


def queue_writeback(ledger: Ledger, order: Order, event: str, note: str,
                    values: Mapping[str, str], key: str) -> None:
    """Store a write-back of ``order`` once per ``key`` (the same event reported twice
    stores one)."""
    statement = insert(ledger.session, WriteBackRecord).values(
        **writeback_row(order, event, note, values, key, _now()))
    ledger.session.execute(statement.on_conflict_do_nothing(
        index_elements=[WriteBackRecord.idempotency_key]))


def writeback_row(order: Order, event: str, note: str, values: Mapping[str, str], key: str,
                  now: datetime) -> dict[str, Any]:
    """The outbox row of a new write-back, stored once per ``key``."""
    digest = hashlib.sha256(f"writeback:{key}".encode()).hexdigest()
    return dict(connection_id=order.connection_id, order_id=order.id, event=event, note=note,
                values=dict(values), idempotency_key=digest, status="pending", attempts=0,
                uncertain=False, created_at=now)


@dataclass(frozen=True)
class Sent:
    """What one call of :func:`send_due` did."""

    done: int = 0
    failed: int = 0
    dead: int = 0
    waiting: int | None = None


@dataclass(frozen=True)
class _Row:
    """An unfinished write-back as :func:`send_due` plans with it."""

    id: int
    order_id: int
    status: str
    next_attempt_at: datetime | None
    claimed_at: datetime | None


def _is_due(row: _Row | WriteBackRecord, now: datetime) -> bool:
    """Whether an unfinished write-back may be sent now: pending, its retry's time come,
    or a send whose worker's lease ran out."""
    return (row.status == "pending") \
        or (row.status == "retrying" and (row.next_attempt_at or now) <= now) \
        or (row.status == "sending" and (row.claimed_at or now) <= now - LEASE)


def _due(engine: Engine, limit: int) -> list[int]:
    """The first unfinished write-back of each order, if it may be sent now."""
    now = _now()
    with session_scope(engine, write=False) as session:
        first = select(func.min(WriteBackRecord.id)).where(
            WriteBackRecord.status.in_(UNFINISHED)).group_by(WriteBackRecord.order_id)
        rows = session.execute(select(WriteBackRecord.id, WriteBackRecord.status,
                                      WriteBackRecord.next_attempt_at,
                                      WriteBackRecord.claimed_at)
                               .where(WriteBackRecord.id.in_(first))
                               .order_by(WriteBackRecord.id).limit(limit)).all()
    return [row.id for row in rows if _is_due(row, now)]


class _Plan:
    """The rounds of one :func:`send_due`: each the first unfinished write-back of every
    order. While every write-back of a round is sent (done or dead) the next round is known
    from one read of all that was unfinished; otherwise each round is read anew."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.orders: dict[int, list[_Row]] | None = None  # unfinished, by order, oldest first

    def next_round(self, room: int) -> list[int]:
        """The write-backs to send in the next round, at most ``room``."""
        now = _now()
        if self.orders is None:
            cap = 4 * room  # a long backlog is read round by round, as it always was
            with session_scope(self.engine, write=False) as session:
                rows = session.execute(
                    select(WriteBackRecord.id, WriteBackRecord.order_id, WriteBackRecord.status,
                           WriteBackRecord.next_attempt_at, WriteBackRecord.claimed_at)
                    .where(WriteBackRecord.status.in_(UNFINISHED))
                    .order_by(WriteBackRecord.id).limit(cap)).all()
            if len(rows) == cap:
                return _due(self.engine, room)
            self.orders = {}
            for row in rows:
                self.orders.setdefault(row.order_id, []).append(_Row(*row))
        firsts = sorted((rows[0] for rows in self.orders.values()), key=lambda row: row.id)
        due = [row.id for row in firsts[:room] if _is_due(row, now)]
        if len(due) != len(firsts):
            self.orders = None  # not all of them go out now: the next round is read anew
        return due

    def sent(self, clean: bool) -> None:
        """The round is over; ``clean`` when each of its write-backs was claimed and is
        done or dead (none waits for a retry): their orders' next ones come first now."""
        if self.orders is None:
            return
        if not clean:
            self.orders = None
            return
        self.orders = {order: rows[1:] for order, rows in self.orders.items() if rows[1:]}


# what a claimed write-back names, read with it rather than one lazy load at a time (the
# merchant too when links are signed: the GiroCode's account holder, the seller details)
_LOADS = (joinedload(WriteBackRecord.order), joinedload(WriteBackRecord.connection))
_LOADS_WITH_MERCHANT = (_LOADS[0], joinedload(WriteBackRecord.connection)
                        .joinedload(ShopConnection.merchant))


def _claim(engine: Engine, record_ids: list[int], links: DocumentLinks | None = None
           ) -> list[_Claimed]:
    """Mark write-backs as being sent by this worker, in one transaction; those another
    worker took or finished meanwhile are left out."""
    now = _now()
    claimed: list[_Claimed] = []
    with session_scope(engine) as session:
        records = session.scalars(
            select(WriteBackRecord).where(WriteBackRecord.id.in_(record_ids))
            .order_by(WriteBackRecord.id)
            .options(*(_LOADS if links is None else _LOADS_WITH_MERCHANT))).unique()
        for record in records:
            if record.status not in UNFINISHED or not _is_due(record, now):
                continue  # sent, or being sent, by another worker meanwhile
            lost = record.status == "sending"  # a worker died while sending: outcome unknown
            taken = session.execute(
                update(WriteBackRecord)
                .where(WriteBackRecord.id == record.id,
                       WriteBackRecord.status == record.status,
                       WriteBackRecord.attempts == record.attempts)
                .values(status="sending", claimed_at=now, attempts=record.attempts + 1,
                        uncertain=record.uncertain or lost)
                .execution_options(synchronize_session=False)).rowcount
            if taken:
                claimed.append(_Claimed(_writeback(session, record, lost, links),
                                        record.connection.platform,
                                        dict(record.connection.platform_settings)))
    return claimed


def _writeback(session: Session, record: WriteBackRecord, lost: bool,
               links: DocumentLinks | None) -> WriteBack:
    """What the platform plugin is given of a claimed write-back."""
    order, connection = record.order, record.connection
    values = dict(record.values)
    if links is not None and "invoice_ids" in values:  # signed when sent, not stored
        url = document_url(links, Ledger(session), order)
        if url:
            values["invoice_document_url"] = url
    if links is not None and "iban" in values:
        girocode = girocode_url(links, Ledger(session), order)
        if girocode:
            values["girocode_url"] = girocode
    return WriteBack(
        id=record.id, idempotency_key=record.idempotency_key, event=record.event,
        shop=connection.name, shop_order_id=order.shop_order_id,
        order_number=order.order_number, note=record.note, values=values,
        occurred_at=record.created_at, uncertain=record.uncertain or lost)


def send_due(engine: Engine, hooks: Hooks, backoff: Backoff = DEFAULT_BACKOFF, *,
             limit: int = 200, count_waiting: bool = False,
             links: DocumentLinks | None = None) -> Sent:
    """Send the write-backs that are due, oldest first, one per order per round, until
    nothing more is due (or ``limit`` were tried); with ``count_waiting``, also count those
    still waiting. With the instance's ``links``, a write-back that names the order's
    invoices also carries ``invoice_document_url``, the download link of the latest
    invoice's e-invoice (:mod:`core.einvoice.links`), and one that names where the buyer
    pays ``girocode_url``, the link to that invoice's GiroCode (:mod:`core.writeback.girocode`).

    A round's write-backs are claimed :data:`CLAIMED_TOGETHER` at a time in one
    transaction, and their outcomes recorded together, at the latest
    :data:`RECORDED_WITHIN` after the first of them (a worker killed meanwhile leaves them
    ``sending``: sent again, marked uncertain, once the lease runs out)."""
    counts = {"done": 0, "failed": 0, "dead": 0}
    tried = 0
    plan = _Plan(engine)
    while tried < limit:
        claimed_any, clean = False, True
        due = plan.next_round(limit - tried)
        for start in range(0, len(due), CLAIMED_TOGETHER):
            chunk = due[start:start + CLAIMED_TOGETHER]
            claimed = _claim(engine, chunk, links)
            clean = clean and len(claimed) == len(chunk)  # else another worker was quicker
            claimed_any, tried = claimed_any or bool(claimed), tried + len(claimed)
            attempts: list[_Attempt] = []
            first_at = 0.0
            for claim in claimed:
                attempts.append(_attempt(hooks, claim))
                first_at = first_at or time.monotonic()
                if claim is claimed[-1] or time.monotonic() - first_at >= RECORDED_WITHIN:
                    for outcome in _record(engine, backoff, attempts):
                        counts[outcome] += 1
                        clean = clean and outcome != "failed"  # a retry may be due at once
                    attempts, first_at = [], 0.0
        if not claimed_any:
            break
        plan.sent(clean)
    waiting = None
    if count_waiting:
        with session_scope(engine, write=False) as session:
            waiting = session.scalar(select(func.count()).where(
                WriteBackRecord.status.in_(UNFINISHED))) or 0
    return Sent(counts["done"], counts["failed"], counts["dead"], waiting)


@dataclass(frozen=True)
class _Claimed:
    """A write-back this worker claimed, as the platform plugin gets it."""

    writeback: WriteBack
    platform: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class _Attempt:
    """One call of the platform plugin, to be recorded."""

    claimed: _Claimed
    result: str | None = None
    error: str | None = None
    permanent: bool = False
    uncertain: bool = False
    delay_asked: float | None = None
    at: datetime = field(default_factory=lambda: _now())


def _attempt(hooks: Hooks, claimed: _Claimed) -> _Attempt:
    """Make one attempt, outside any transaction."""
    writeback = claimed.writeback
    try:
        result = hooks.write_back(claimed.platform, writeback, claimed.settings)
    except OutcomeUnknown as exc:
        return _Attempt(claimed, error=str(exc), uncertain=True, delay_asked=exc.retry_after)
    except RetryableError as exc:
        return _Attempt(claimed, error=str(exc), uncertain=writeback.uncertain,
                        delay_asked=exc.retry_after)
    except PermanentError as exc:
        return _Attempt(claimed, error=str(exc), permanent=True)
    except Exception as exc:  # a bug in the plugin: the request may have gone out
        log.exception("write-back %s: the %s plugin failed", writeback.id, claimed.platform)
        return _Attempt(claimed, error=describe(exc), uncertain=True)
    return _Attempt(claimed, result=result)


_DONE = (update(WriteBackRecord).where(WriteBackRecord.id == bindparam("record_id"))
         .values(status="done", result=bindparam("result"), error=None, claimed_at=None,
                 sent_at=bindparam("sent_at"), next_attempt_at=None, uncertain=False)
         .execution_options(synchronize_session=False))


def _record(engine: Engine, backoff: Backoff, attempts: list[_Attempt]) -> list[str]:
    """Record attempts' outcomes in one transaction: each ``done``, ``failed`` or ``dead``."""
    outcomes = []
    with session_scope(engine) as session:
        done = [{"record_id": a.claimed.writeback.id, "result": a.result, "sent_at": a.at}
                for a in attempts if a.error is None]
        if done:  # one statement for all, without reading the rows first
            session.connection().execute(_DONE, done)
        for attempt in attempts:
            outcomes.append("done" if attempt.error is None
                            else _record_failure(session, backoff, attempt))
    return outcomes


def _record_failure(session: Session, backoff: Backoff, attempt: _Attempt) -> str:
    """A failed attempt: ``dead`` when permanent or out of attempts, else ``failed``."""
    writeback, error = attempt.claimed.writeback, attempt.error
    record = session.get(WriteBackRecord, writeback.id)
    assert record is not None
    record.claimed_at = None
    record.uncertain = attempt.uncertain
    if attempt.permanent or backoff.exhausted(record.attempts):
        if not attempt.permanent:
            error = f"gave up after {record.attempts} attempts: {error}"
        record.status, record.error, record.next_attempt_at = "dead", error, None
        log.warning("write-back %s to shop %s is dead: %s", writeback.id, writeback.shop,
                    error)
        return "dead"
    record.status, record.error = "retrying", error
    record.next_attempt_at = attempt.at + timedelta(
        seconds=backoff.delay(record.attempts, attempt.delay_asked))
    return "failed"


def retry_writebacks(engine: Engine, *, record_id: int | None = None,
                     shop: str | None = None) -> int:
    """Make dead write-backs (one, a shop's, or all) pending again; return how many."""
    with session_scope(engine) as session:
        query = select(WriteBackRecord).where(WriteBackRecord.status == "dead")
        if record_id is not None:
            query = query.where(WriteBackRecord.id == record_id)
        if shop is not None:
            query = query.where(WriteBackRecord.connection_id ==
                                Ledger(session).connection(shop).id)
        records = list(session.scalars(query))
        if record_id is not None and not records:
            raise NotFound(f"no dead write-back {record_id}")
        for record in records:
            record.status, record.attempts, record.next_attempt_at = "pending", 0, None
        return len(records)


def _now() -> datetime:
    return datetime.now(UTC)
