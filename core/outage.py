"""Outages of the database, the queue or the disk: told apart from bugs, logged once.

A task that meets an outage (the database or Redis unreachable, a disk full, SQLite locked
past its busy timeout) is not a failed attempt of its delivery: it is put back on the queue
with a short backoff and runs again when the service is back. :class:`Outages` logs one
line when an outage starts and one when it ends, not a traceback per task.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.exc import OperationalError as SAOperationalError

__all__ = ["OUTAGES", "Outages", "is_outage", "outage_kind"]

log = logging.getLogger("invoicekit.outage")

# SQLite's messages for a database it cannot write now (its other OperationalErrors, such
# as "no such table", are bugs or a missing migration: they are not retried for ever)
_SQLITE_OUTAGE = ("database or disk is full", "disk i/o error", "database is locked",
                  "database table is locked", "unable to open database file",
                  "readonly database")
_OS_OUTAGE = {errno.ENOSPC, errno.EDQUOT, errno.ECONNREFUSED, errno.ECONNRESET,
              errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT, errno.EHOSTUNREACH,
              errno.ENETUNREACH, errno.EIO}


def _redis_errors() -> tuple[type[BaseException], ...]:
    try:
        from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError
    except ImportError:  # pragma: no cover - redis is installed with the kit
        return ()
    return (ConnectionError, TimeoutError, ReadOnlyError)


_REDIS = _redis_errors()


def outage_kind(exc: BaseException) -> str | None:
    """``database`` or ``queue`` when ``exc`` is an outage of that part (its disk full
    included), else
    ``None`` (a bug, bad data: the caller's usual handling applies)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = _kind(current)
        if kind:
            return kind
        current = current.__cause__ or current.__context__
    return None


def _kind(exc: BaseException) -> str | None:
    if isinstance(exc, InvalidRequestError) and \
            "reconnect until invalid transaction" in str(exc):
        return "database"  # a session used on after its connection was lost
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or _disk_full(exc):
            return "database"
        if isinstance(exc, SAOperationalError):
            if isinstance(exc.orig, sqlite3.Error):
                message = str(exc.orig).lower()
                return "database" if any(m in message for m in _SQLITE_OUTAGE) else None
            return "database"  # PostgreSQL: connection lost, shutting down, out of resources
        return None
    if _REDIS and isinstance(exc, _REDIS):
        return "queue"
    if isinstance(exc, sqlite3.OperationalError):  # huey's SQLite queue
        message = str(exc).lower()
        return "queue" if any(m in message for m in _SQLITE_OUTAGE) else None
    if isinstance(exc, OSError) and exc.errno in _OS_OUTAGE:
        return "queue"
    return None


def _disk_full(exc: BaseException) -> bool:
    """SQLite's "database or disk is full", PostgreSQL's disk full (SQLSTATE 53100), ENOSPC."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, OSError) and orig.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if getattr(orig, "sqlstate", None) == "53100":
        return True
    message = str(orig).lower()
    return "disk is full" in message or "no space left" in message


def _on_sqlite(exc: BaseException) -> bool:
    return isinstance(getattr(exc, "orig", None) or exc, sqlite3.Error)


def is_outage(exc: BaseException) -> bool:
    return outage_kind(exc) is not None


_WHAT = {"database": "the database cannot be used", "queue": "the queue cannot be used",
         "disk": "a disk is full"}


# how long after an outage's end an error met by work of unknown start still counts as that
# outage's straggler (a connection attempt that began during the outage may fail this late)
STRAGGLERS = 30.0


class Outages:
    """Which parts are down in this process, and since when; logs each start and end once."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self._down: dict[str, tuple[float, str]] = {}
        self._over: dict[str, float] = {}  # when each kind's last outage ended
        self._lock = threading.Lock()
        self.log = logger

    def down(self, exc: BaseException, kind: str | None = None, *,
             started: float | None = None) -> None:
        """``exc`` met: an outage starts, unless it already runs, or unless the work that
        met it ``started`` (``time.monotonic()``) before the last outage of its kind ended
        (a straggler of that outage, not a new one). Without ``started`` (a traceback a
        library logged, a watcher's round), an error within :data:`STRAGGLERS` seconds of
        that end counts as a straggler: work that waited out a connection attempt ends
        that late."""
        kind = "disk" if _disk_full(exc) else kind or outage_kind(exc) or "database"
        with self._lock:
            if kind in self._down:
                return
            over = self._over.get(kind, float("-inf"))
            if started is not None and started <= over:
                return
            if started is None and time.monotonic() - over < STRAGGLERS:
                return
            if "disk" in self._down and _on_sqlite(exc):
                return  # SQLite on a full disk says more than "full" (I/O error, locked)
            self._down[kind] = (time.monotonic(), _name(exc))
        self.log.warning("outage: %s (%s); deliveries wait and are retried every few "
                         "seconds until it is back", _WHAT[kind], _name(exc))

    def up(self, *kinds: str, wrote: bool = False) -> None:
        """Work went through: the outages of ``kinds`` (every one when none given) ended; a
        full disk only when the work ``wrote`` (reads go on while a disk is full)."""
        if not self._down:
            return
        ended = []
        with self._lock:
            # a full disk (the database's, the queue's) ends when either writes again
            ending = (*kinds, "disk") if wrote else kinds
            for kind in ending if kinds else tuple(self._down):
                if kind in self._down:
                    ended.append((kind, *self._down.pop(kind)))
                    self._over[kind] = time.monotonic()
        for kind, since, _error in ended:
            self.log.warning("outage over: %s for %.0f s; what waited is being processed",
                             _WHAT[kind], time.monotonic() - since)

    def is_down(self, kind: str | None = None) -> bool:
        return bool(self._down) if kind is None else kind in self._down

    @contextmanager
    def ridden_out(self) -> Iterator[None]:
        """Run the block; an outage gives it up, logged once (the work is done again by
        its next run), anything else passes on. Work that began before an outage ended and
        meets it is a straggler of that outage, not a new one."""
        started = time.monotonic()
        try:
            yield
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.down(exc, started=started)


def _name(exc: BaseException) -> str:
    """The error's kind, never its message (it may carry a connection string or data)."""
    orig = getattr(exc, "orig", None)
    if orig is not None:
        return f"{type(exc).__name__}: {type(orig).__name__}"
    return type(exc).__name__


OUTAGES = Outages()
