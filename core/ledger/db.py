"""Engines, sessions and migrations for the ledger.

The settings' ``database_url`` selects the database: a SQLite file by default (WAL,
synchronous FULL, foreign keys on, writers serialised with ``BEGIN IMMEDIATE``), PostgreSQL
in production (``postgresql+psycopg://…``). The schema is created only by Alembic migrations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import ColumnElement, Engine, String, any_, bindparam, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

__all__ = ["WriterLock", "among", "holds_writer_turn", "insert", "insert_skipping", "make_engine",
           "schema_state", "session_scope", "slices", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger(__name__)
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see on_begin below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the backend's settings."""
    # Errors must not carry buyer data into logs, dead deliveries or the merchant's view.
    kwargs.setdefault("hide_parameters", True)
    # A pooled connection the server dropped (a restart, a failover) is replaced, not used
    # (a SQLite file has no server to drop it: no ping there, a query's worth per checkout).
    kwargs.setdefault("pool_pre_ping", not url.startswith("sqlite"))
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        _WRITERS[engine] = WriterLock()

        @event.listens_for(engine, "begin")
        def on_begin(conn: Any) -> None:
            # One writer at a time: the per-order serialisation SQLite can offer. Reads
            # (session_scope(write=False)) take no write lock.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (``invoicekit db upgrade``); a schema newer than
    this release (a newer release migrated it) is left alone."""
    if schema_state(engine) == "newer":
        log.warning("the database's schema is newer than this release; not migrating")
        return
    command.upgrade(alembic_config(engine), revision)


def schema_state(engine: Engine) -> str:
    """``current`` (at this release's newest migration), ``behind`` (``invoicekit db
    upgrade`` is due) or ``newer`` (migrated by a newer release; this one runs on it, since
    migrations only add)."""
    heads, known = _revisions()
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return "current"
    return "behind" if current <= known else "newer"


@cache
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    """This release's newest migrations and every one it has, read from disk once (the
    readiness probe asks for them every few seconds)."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    return (frozenset(scripts.get_heads()),
            frozenset(script.revision for script in scripts.walk_revisions()))


def insert(session: Session, table: Any) -> Any:
    """An ``INSERT`` for the session's backend, which can ``on_conflict_do_nothing()``."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


_SKIPPING: dict[tuple[str, str, tuple[str, ...], str | None], Any] = {}


def insert_skipping(session: Session, table: Any, keys: tuple[str, ...],
                    returning: str | None = None) -> Any:
    """An ``INSERT`` into ``table`` that skips a row whose ``keys`` are stored already
    (``returning`` that column of a row inserted), built once per backend: the values are
    bound at execution, and building the statement cost more than running it."""
    dialect = session.get_bind().dialect.name
    cache_key = (dialect, table.name, keys, returning)
    statement = _SKIPPING.get(cache_key)
    if statement is None:
        statement = insert(session, table).on_conflict_do_nothing(
            index_elements=[table.c[key] for key in keys])
        if returning is not None:
            statement = statement.returning(table.c[returning])
        _SKIPPING[cache_key] = statement
    return statement


def among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (a non-empty collection), for the session's backend.

    On SQLite ``IN (?, ?, …)``. On PostgreSQL ``= ANY(%s)`` with one array parameter:
    psycopg converts a query of more than 50 parameters anew on every execution (it caches
    only short ones), and the set-based reads of 500 keys at a time paid for that each time;
    with one parameter the query is converted once, and PostgreSQL still reads it by the
    column's index. A text column's array is of unbounded text, so that no value is cut.
    """
    if session.get_bind().dialect.name == "postgresql":
        item = String() if isinstance(column.type, String) else column.type
        return column == any_(bindparam(None, list(values), type_=ARRAY(item)))
    return column.in_(list(values))


def slices(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """``values`` in slices of ``size``: as many as one statement's ``IN`` takes (SQLite
    takes at most 32,766 parameters)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


READ_ONLY = "invoicekit_read_only"


@contextmanager
def session_scope(engine: Engine, *, write: bool = True,
                  first: bool = False) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any exception.

    ``write=False`` is for transactions that only read: on SQLite they then wait for no
    writer and hold no write lock. ``first``: on SQLite, this writer goes before the
    process's other waiting writers (the receivers' batch of deliveries, which shops wait
    for, before a consumer's processing).
    """
    writers = _WRITERS.get(engine) if write else None
    # a plain Session with the option: a sessionmaker, or an engine with the option, made
    # per call would each time make a class or dispatcher whose events SQLAlchemy sets up
    # anew (about half of a short transaction's cost)
    with writers.held(first) if writers else nullcontext(), \
            Session(engine, expire_on_commit=False,
                    execution_options=None if write else _READ_ONLY_OPTIONS) as session, \
            session.begin():
        yield session


_READ_ONLY_OPTIONS = {READ_ONLY: True}


class WriterLock:
    """The SQLite writer's turn within a process: re-entrant for its holder; a writer asking
    ``first`` goes before those that did not."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._holder: int | None = None
        self._depth = 0
        self._first_waiting = 0

    def held_here(self) -> bool:
        return self._holder == threading.get_ident()

    @contextmanager
    def held(self, first: bool = False) -> Iterator[None]:
        me = threading.get_ident()
        with self._turn:
            if self._holder != me:
                self._first_waiting += first
                try:
                    while self._holder is not None or (not first and self._first_waiting):
                        self._turn.wait()
                finally:
                    self._first_waiting -= first
                    if first:  # the others may go once no first writer waits
                        self._turn.notify_all()
                self._holder = me
            self._depth += 1
        try:
            yield
        finally:
            with self._turn:
                self._depth -= 1
                if not self._depth:
                    self._holder = None
                    self._turn.notify_all()


def holds_writer_turn(engine: Engine) -> bool:
    """Whether this thread is inside a write transaction of ``engine`` (SQLite only)."""
    writers = _WRITERS.get(engine)
    return writers is not None and writers.held_here()


# SQLite lets a writer that finds the database locked poll for it, sleeping up to 100 ms
# between tries; writers of one process queue on a lock of their own instead and start the
# moment the previous one commits. Other processes still meet SQLite's busy timeout.
_WRITERS: WeakKeyDictionary[Engine, WriterLock] = WeakKeyDictionary()
