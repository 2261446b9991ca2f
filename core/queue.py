"""The work queue (huey): SQLite storage embedded, Redis when scaled out.

``queue_url`` chooses the storage: ``sqlite:///path/queue.db`` (default, in the instance
folder), ``redis://host:port/db`` (any number of consumers on any number of machines), or
``memory://`` (tasks run at once, in tests). One task processes a stored delivery, another
sends the write-backs that are due (after each delivery, and every minute); a
minute-by-minute sweep re-enqueues deliveries the queue may have lost in a crash. Every
consumer's scheduler enqueues the periodic tasks; the ledger lets one run per schedule.

A consumer process (``invoicekit serve``, ``invoicekit worker``) takes a :class:`Slot` of
its instance folder at start-up: the first of ``serve-1``, ``serve-2``… (or ``worker-…``)
that no live process holds. The slot names the owner of its provider calls' leases, with a
generation counted up at every start, so a consumer that starts again after a crash takes
back at once the operations its predecessor in the slot left in flight
(:meth:`Queue.reclaim`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

from huey import Huey, MemoryHuey, PriorityRedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper

from core.einvoice.links import DocumentLinks
from core.errors import ConfigurationError
from core.execute import reclaim_leases, resume_order, set_lease_owner
from core.inbox import (
    due_deliveries,
    mark_unqueued,
    process_delivery,
    take_unqueued,
    unfinished_deliveries,
)
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.outage import OUTAGES, is_outage, outage_kind
from core.retry import DEFAULT_BACKOFF, Backoff
from core.writeback.outbox import send_due

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from core.hooks import Hooks

__all__ = ["Queue", "Slot", "make_huey"]

log = logging.getLogger(__name__)


def make_huey(queue_url: str) -> Huey:
    """A huey instance for ``queue_url``."""
    if queue_url.startswith("sqlite:///"):
        # No fsync: the ledger's inbox is the durable record; a queue entry lost in a power
        # cut is found again by the sweep.
        return SqliteHuey("invoicekit", filename=queue_url.removeprefix("sqlite:///"),
                          fsync=False, results=False)
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        return PriorityRedisHuey("invoicekit", url=queue_url, results=False)
    if queue_url == "memory://":
        return MemoryHuey("invoicekit", immediate=True, results=False)
    raise ConfigurationError(f"unsupported queue URL scheme in {queue_url.split(':', 1)[0]!r}")


@dataclass
class Slot:
    """A consumer's place in its instance folder, held (an exclusive ``flock`` on
    ``run/<name>.lock``) for as long as the process lives; the kernel lets go of it when
    the process ends, however it ends.

    :ivar owner: ``<instance id>/<name>``, the same for every run in this slot;
        ``<owner>#<generation>`` owns this run's leases.
    :ivar generation: this run's number in the slot, one more than the run before.
    """

    owner: str
    generation: int
    handle: IO[str]

    @classmethod
    def take(cls, home: Path, role: str) -> Slot:
        """The first free slot ``<role>-1``, ``<role>-2``… of the instance folder ``home``."""
        run = home / "run"
        run.mkdir(parents=True, exist_ok=True)
        instance = _instance_id(run)
        number = 1
        while True:
            handle = (run / f"{role}-{number}.lock").open("a+", encoding="ascii")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live process holds it
                handle.close()
                number += 1
                continue
            handle.seek(0)
            text = handle.read().strip()
            generation = int(text) + 1 if text.isdigit() else 1
            handle.seek(0)
            handle.truncate()
            handle.write(f"{generation}\n")
            handle.flush()
            os.fsync(handle.fileno())
            return cls(f"{instance}/{role}-{number}", generation, handle)

    @property
    def lease_owner(self) -> str:
        return f"{self.owner}#{self.generation}"


def _instance_id(run: Path) -> str:
    """The instance folder's random id, made once: slots of several machines that share one
    database never mix up their leases."""
    path = run / "instance-id"
    try:
        with path.open("x", encoding="ascii") as out:
            out.write(secrets.token_hex(8))
    except FileExistsError:
        pass
    return path.read_text(encoding="ascii").strip()


PERIODIC_SPACING = timedelta(seconds=30)
PERIODIC_PRIORITY = 10
# A task that met an outage runs again after 1 s, 2 s, 4 s… at most 15 s: seconds after
# the database, the queue or the disk is back
OUTAGE_RETRY_FIRST, OUTAGE_RETRY_MAX = 1.0, 15.0
# At most one send task queued per consumer process in this many seconds (if it has not
# started in this process by then, another process may have taken it: queue one anew)
SEND_SPACING = 2.0
# How often each consumer queues what the queue could not take (the watcher)
WATCH_INTERVAL = 2.0
# A pending delivery older than this that is neither held by a worker nor in the queue (or
# its schedule) lost its queue entry: the sweep queues it
LOST_AFTER = timedelta(seconds=60)


def outage_delay(waited: int) -> float:
    """The wait before the ``waited``-th retry of a task that met an outage."""
    return min(OUTAGE_RETRY_FIRST * 2 ** min(waited, 8), OUTAGE_RETRY_MAX)


class Queue:
    """The kit's tasks on one huey instance."""

    def __init__(self, huey: Huey, engine: Engine, hooks: Hooks,
                 backoff: Backoff = DEFAULT_BACKOFF, links: DocumentLinks | None = None) -> None:
        self.huey, self.engine, self.hooks, self.backoff = huey, engine, hooks, backoff
        self.links = links  # the e-invoice download links the write-backs carry
        self._sending = threading.Lock()
        # when this process last queued a send task that has not started here: deliveries
        # processed within SEND_SPACING of it queue none of their own (it sends what is due
        # when it starts; another process may take it, hence the spacing, not a flag)
        self._send_queued_at = 0.0
        self._process = huey.task(name="process_delivery")(self._run)
        self._send = huey.task(name="send_writebacks")(self.send_writebacks)
        self._resume = huey.task(name="resume_order")(self._resume_order)
        self.slot: Slot | None = None
        # deliveries this process could queue nowhere, nor mark in the database: the
        # watcher queues them once the queue is back
        self._held: set[int] = set()
        self._held_lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stop_watching = threading.Event()
        self.periodic(crontab(minute="*"), "sweep_deliveries", self.sweep)
        self.periodic(crontab(minute="*"), "send_due_writebacks", self.send_writebacks)

    def periodic(self, schedule: Callable[[datetime], bool], name: str,
                 function: Callable[[], object]) -> TaskWrapper:
        """Run ``function`` on ``schedule`` (a huey crontab), once per schedule however many
        consumers enqueue it: a run goes ahead only if the task's last run started at least
        half a minute ago (a schedule is at most once a minute)."""

        def once() -> None:
            with OUTAGES.ridden_out():  # the next minute's run does it
                with session_scope(self.engine) as session:
                    claimed = Ledger(session).start_periodic_run(name, datetime.now(UTC),
                                                                 PERIODIC_SPACING)
                if claimed:
                    function()
                else:
                    log.debug("%s: already run for this schedule by another consumer", name)

        # priority: a periodic run is not kept waiting behind a backlog of deliveries
        return self.huey.periodic_task(schedule, name=name, priority=PERIODIC_PRIORITY)(once)

    def enqueue(self, delivery_id: int, delay: float | None = None, waited: int = 0) -> None:
        """Ask a worker to process a stored delivery (now, or after ``delay`` seconds);
        ``waited`` counts the outages the delivery already waited out."""
        args = (delivery_id, waited) if waited else (delivery_id,)
        if delay:
            self._process.schedule(args=args, delay=delay)
        else:
            self._process(*args)

    def enqueue_or_hold(self, delivery_id: int, delay: float | None = None,
                        waited: int = 0) -> bool:
        """:meth:`enqueue`, or when the queue is down, mark the delivery *to be queued* in
        the database (every consumer's watcher queues it within seconds of the queue's
        return), or, the database down too, hold it in this process for its watcher.
        Returns whether it was queued; an outage is logged once."""
        try:
            self.enqueue(delivery_id, delay, waited)
        except Exception as exc:
            if not is_outage(exc):
                log.exception("delivery %s not queued", delivery_id)
            OUTAGES.down(exc, outage_kind(exc) or "queue")
        else:
            return True
        try:
            mark_unqueued(self.engine, [delivery_id])
        except Exception as exc:
            if not is_outage(exc):
                log.exception("delivery %s not marked to be queued", delivery_id)
            OUTAGES.down(exc, outage_kind(exc) or "database")
            with self._held_lock:
                self._held.add(delivery_id)
        return False

    def _run(self, delivery_id: int, waited: int = 0) -> None:
        started = time.monotonic()
        try:
            result = process_delivery(self.engine, self.hooks, delivery_id, self.backoff)
        except Exception as exc:
            if not is_outage(exc):
                raise
            # the database (or its disk) is down: not an attempt; the claim is let go (the
            # transaction rolled back), and the delivery comes back in a few seconds
            OUTAGES.down(exc, started=started)
            self.enqueue_or_hold(delivery_id, delay=outage_delay(waited), waited=waited + 1)
            return
        OUTAGES.up("database", wrote=result.attempted)
        if result.retry_in is not None:
            log.info("delivery %s will be retried in %.0f s: %s", delivery_id,
                     result.retry_in, result.error)
            self.enqueue_or_hold(delivery_id, delay=result.retry_in)
        if result.attempted and time.monotonic() - self._send_queued_at > SEND_SPACING:
            self._send_queued_at = time.monotonic()
            with OUTAGES.ridden_out():  # else the minute's run sends it
                try:
                    self._send()  # what processing has the shop told
                except BaseException:
                    self._send_queued_at = 0.0
                    raise

    def _resume_order(self, order_id: int, waited: int = 0) -> None:
        try:
            outcome = resume_order(self.engine, self.hooks, order_id, self.backoff)
        except Exception as exc:
            if not is_outage(exc):
                raise
            OUTAGES.down(exc)
            try:
                self._resume.schedule(args=(order_id, waited + 1), delay=outage_delay(waited))
            except Exception as again:  # the order's lease runs out; then it is taken over
                OUTAGES.down(again, outage_kind(again) or "queue")
            return
        if outcome.failure is not None:
            log.info("order %s: %s", order_id, outcome.failure.error)
        with OUTAGES.ridden_out():
            self._send()

    def start(self, home: Path, role: str) -> list[int]:
        """Take this consumer's slot of the instance folder ``home``, own this process's
        leases by it, and take back what the slot's earlier run left in flight: each of
        its orders is carried on at once (the provider's state is read first). Returns
        the ids of those orders."""
        self.slot = Slot.take(home, role)
        set_lease_owner(self.slot.lease_owner)
        orders = reclaim_leases(self.engine, self.slot.owner, self.slot.generation)
        for order_id in orders:
            self._resume(order_id)
        return orders

    def send_writebacks(self) -> None:
        """Send the write-backs that are due (see :mod:`core.writeback.outbox`), in one
        thread of this process at a time: a slow shop API holds up one worker thread at
        most, the others go on processing deliveries."""
        self._send_queued_at = 0.0  # what is processed from now on asks for another run
        if not self._sending.acquire(blocking=False):
            return  # the sending thread takes what is due; what it misses, the next minute
        with OUTAGES.ridden_out():  # the next run sends what is due
            try:
                sent = send_due(self.engine, self.hooks, self.backoff, links=self.links)
            finally:
                self._sending.release()
            if sent.failed or sent.dead:
                log.info("write-backs: %s sent, %s to be retried, %s dead", sent.done,
                         sent.failed, sent.dead)

    def rebuild(self) -> int:
        """Rebuild the queue from the inbox at start-up: drop whatever the queue holds and
        queue every pending delivery once, and every retry at its time. The inbox is the
        durable record, so nothing is lost and nothing is queued twice."""
        self.huey.flush()
        now = datetime.now(UTC)
        while take_unqueued(self.engine):  # every pending delivery is queued below
            pass
        pending, retrying = unfinished_deliveries(self.engine)
        for delivery_id in pending:
            self.enqueue(delivery_id)
        for delivery_id, due in retrying:
            self.enqueue(delivery_id, delay=max((due - now).total_seconds(), 0) or None)
        return len(pending) + len(retrying)

    def sweep(self, older_than_seconds: float = 600) -> int:
        """Enqueue deliveries whose task looks lost: pending, or due for a retry, for longer
        than ``older_than_seconds`` (a crash), or for longer than a minute
        (:data:`LOST_AFTER`) and neither held by a worker nor in the queue or its schedule
        (so a backlog waiting in the queue is not queued twice)."""
        due = due_deliveries(self.engine, older_than=timedelta(seconds=older_than_seconds))
        lost = set(due_deliveries(self.engine, older_than=LOST_AFTER)) - set(due)
        if lost:
            lost -= self._queued()
        for delivery_id in [*due, *sorted(lost)]:
            self.enqueue(delivery_id)
        return len(due) + len(lost)

    def _queued(self) -> set[int]:
        """The deliveries the queue holds, to be run now or later."""
        tasks = [*self.huey.pending(), *self.huey.scheduled()]
        return {task.args[0] for task in tasks
                if isinstance(task, self._process.task_class) and task.args}

    # -- the watcher --------------------------------------------------------------------

    def watch(self, interval: float = WATCH_INTERVAL) -> threading.Thread:
        """Start this consumer's watcher: a thread that every ``interval`` seconds queues
        the deliveries the queue could not take (marked in the database by a receiver or
        a task, or held in this process), so they run seconds after the queue is back."""
        if self._watcher is None:
            install_log_filter()
            self._watcher = threading.Thread(target=self._watch, args=(interval,),
                                             name="queue-watcher", daemon=True)
            self._watcher.start()
        return self._watcher

    def stop_watching(self) -> None:
        self._stop_watching.set()

    def _watch(self, interval: float) -> None:
        while not self._stop_watching.wait(interval):
            started = time.monotonic()
            try:
                self.requeue()
            except Exception as exc:
                if is_outage(exc):
                    OUTAGES.down(exc, started=started)
                else:
                    log.exception("the queue's watcher failed; it goes on")

    def requeue(self) -> int:
        """One round of the watcher: queue what waits to be queued; how many were."""
        self.huey.pending_count()  # the queue answers
        with self._held_lock:
            held, self._held = sorted(self._held), set()
        queued = 0
        for delivery_id in held:
            if not self.enqueue_or_hold(delivery_id):
                with self._held_lock:
                    self._held.update(held[held.index(delivery_id) + 1:])
                return queued
            queued += 1
        OUTAGES.up("queue", wrote=bool(held))
        while True:
            taken = take_unqueued(self.engine)
            if not taken:
                return queued
            for number, delivery_id in enumerate(taken):
                if not self.enqueue_or_hold(delivery_id):  # marked again (or held)
                    rest = taken[number + 1:]
                    if rest:
                        self._mark_or_hold(rest)
                    return queued
                queued += 1

    def _mark_or_hold(self, delivery_ids: list[int]) -> None:
        try:
            mark_unqueued(self.engine, delivery_ids)
        except Exception as exc:
            OUTAGES.down(exc, outage_kind(exc) or "database")
            with self._held_lock:
                self._held.update(delivery_ids)


class _OutageFilter(logging.Filter):
    """Tracebacks of an outage logged in a consumer process (huey's at every poll of a
    queue that is down, an observer's whose transaction lost its connection) become the
    one line of :data:`core.outage.OUTAGES`: what they concern is rolled back and done
    again once the outage is over."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info:
            return True
        exc = record.exc_info[1]
        if exc is None or not is_outage(exc):
            return True
        OUTAGES.down(exc, outage_kind(exc))
        return False


_FILTER = _OutageFilter()


def install_log_filter() -> None:
    """Put :class:`_OutageFilter` on the handlers of the root logger (every logger's records
    pass them; a logger's own filters see only the records made on it)."""
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
