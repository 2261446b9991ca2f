"""Group commit: the writes of concurrent threads share one transaction and one flush to disk.

A thread hands its write to :meth:`GroupCommit.write` and waits. The first thread to find
no transaction under way leads: it takes every write waiting (up to ``max_batch``), runs
them in one transaction, commits, and only then tells each thread its result — so a caller
learns of its write only once it is durable, and a process killed with a batch open has
told no one of it. While the leader commits, new writes gather for the next batch, which
the first of them leads. On SQLite a batch goes before the process's other waiting writers.
A batch that fails is written again one write per transaction, so one bad write fails
alone; an outage (:mod:`core.outage`) fails the whole batch at once.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.ledger.db import holds_writer_turn, session_scope
from core.outage import is_outage

__all__ = ["GroupCommit"]

T = TypeVar("T")
R = TypeVar("R")


class _Waiting(Generic[T, R]):
    """One thread's write, and what became of it."""

    __slots__ = ("error", "item", "result", "settled", "wake")

    def __init__(self, item: T) -> None:
        self.item = item
        self.wake = threading.Event()  # settled, or handed the lead
        self.settled = False
        self.result: R | None = None
        self.error: BaseException | None = None

    def settle(self, result: R | None = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.settled = result, error, True
        self.wake.set()


class GroupCommit(Generic[T, R]):
    """Writes ``write_one(session, item)`` of concurrent threads in shared transactions."""

    def __init__(self, engine: Engine, write_one: Callable[[Session, T], R],
                 max_batch: int = 64, order: Callable[[T], Any] | None = None) -> None:
        """``order``: the key a batch's writes are made in (writes of two processes'
        batches that take the same row locks in one order cannot deadlock)."""
        self.engine, self.write_one, self.max_batch = engine, write_one, max_batch
        self.order = order
        self._lock = threading.Lock()
        self._waiting: list[_Waiting[T, R]] = []
        self._leading = False

    def write(self, item: T) -> R:
        """Write ``item`` and return ``write_one``'s result once its transaction is
        committed; raise what it raised (or what the commit raised). Not from a thread
        inside a write transaction of the same SQLite ledger (the batch would wait for it)."""
        if holds_writer_turn(self.engine):
            raise RuntimeError("GroupCommit.write inside a write transaction")
        mine: _Waiting[T, R] = _Waiting(item)
        with self._lock:
            self._waiting.append(mine)
            leads = not self._leading
            self._leading = True
        if not leads:
            mine.wake.wait()
        if not mine.settled:  # leading from the start, or handed the lead
            self._lead(mine)
        if mine.error is not None:
            raise _own(mine.error)
        return mine.result  # type: ignore[return-value]

    def _lead(self, mine: _Waiting[T, R]) -> None:
        """Write batches until ``mine`` is written, then hand the lead to the first write
        waiting (or give it up when none waits)."""
        try:
            while not mine.settled:
                with self._lock:
                    batch = self._waiting[:self.max_batch]
                    del self._waiting[:self.max_batch]
                try:
                    self._write(batch)
                except BaseException as exc:  # the process is stopping: tell the batch
                    for waiting in batch:
                        if not waiting.settled:
                            waiting.settle(error=exc)
                    raise
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].wake.set()
                else:
                    self._leading = False

    def _write(self, batch: list[_Waiting[T, R]]) -> None:
        if self.order is not None:
            batch = sorted(batch, key=lambda waiting: self.order(waiting.item))  # type: ignore[misc]
        try:
            with session_scope(self.engine, first=True) as session:
                results = [self.write_one(session, waiting.item) for waiting in batch]
        except Exception as exc:
            if len(batch) == 1 or is_outage(exc):
                for waiting in batch:
                    waiting.settle(error=exc)
                return
            for n, waiting in enumerate(batch):  # one bad write fails alone
                self._write([waiting])
                if waiting.error is not None and is_outage(waiting.error):
                    for rest in batch[n + 1:]:  # an outage meanwhile: no use trying each
                        rest.settle(error=waiting.error)
                    return
            return
        for waiting, result in zip(batch, results, strict=True):
            waiting.settle(result)


def _own(error: BaseException) -> BaseException:
    """A copy of a batch's error for one caller to raise (raised in many threads at once,
    the one object's traceback would gather all their frames)."""
    try:
        return copy.copy(error)
    except Exception:
        return error
