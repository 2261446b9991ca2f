"""The statement's movements read from the journal as the writer wants them: the rows of
``_rows_query(..., text=...)`` (:mod:`core.statements.build`), each movement with its
order's number and day, the buyer, and its document's activation and due day, times and
days as text the database writes.

The week's movements are read alone (one index range of the journal, no join), in
batches; what a movement takes from its order (and buyer) and from its document is read
once per order and per document number, for the orders and documents a batch has that
were not read before (a query each), and kept (at most ``KEPT`` of each, then read
afresh): a week's movements come back to the same orders and documents again and again,
and joining them to each movement was most of the database's work per row. A movement of
an order of another provider is left out, as the join left it out.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Select, String, case, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from core.ledger.db import among
from core.ledger.models import Buyer, Invoice, Merchant, Movement, Order

__all__ = ["BATCH", "KEPT", "as_text", "journal_parts", "raw_batches"]

LOCAL = "local"
BATCH = 2000  # journal rows fetched at a time
KEPT = 50_000  # orders and documents kept at most (each)
_AHEAD = 2  # batches read ahead at most


def as_text(value: Any, moment: bool, postgresql: bool) -> Any:
    """A time (``moment``) as ``isoformat(timespec="seconds")`` of its aware UTC value
    writes it (``2026-03-02T09:00:00+00:00``), or a day as ``date.isoformat`` does
    (``2026-03-02``), written by the database: cut from the text SQLite stores
    (``2026-03-02 09:00:00.123456``, ``2026-03-02``; the seconds cut, never rounded), with
    ``to_char`` on PostgreSQL (the seconds cut too; not ``CAST``, which follows the
    server's ``DateStyle``). ``NULL`` stays ``NULL``."""
    if postgresql:
        return func.to_char(value, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"' if moment
                            else "YYYY-MM-DD", type_=String())
    stored = type_coerce(value, String())
    day = func.substr(stored, 1, 10, type_=String())
    if moment:
        return day + "T" + func.substr(stored, 12, 8, type_=String()) + "+00:00"
    return day


def _movements_query(merchant_id: int, monday: date, postgresql: bool) -> Select[Any]:
    """The week's movements of the merchant, oldest first: kind, amount, currency, time
    (text), description, order id, document number."""
    start = datetime.combine(monday, time(), UTC)
    return (select(Movement.kind, Movement.amount, Movement.currency,
                   as_text(Movement.occurred_at, True, postgresql), Movement.description,
                   Movement.order_id, Movement.document_number)
            .where(Movement.merchant_id == merchant_id, Movement.occurred_at >= start,
                   Movement.occurred_at < start + timedelta(days=7))
            .order_by(Movement.occurred_at, Movement.id))


def _orders(session: Session, ids: set[int], postgresql: bool,
            ) -> Iterator[tuple[int, tuple[Any, ...] | None]]:
    """Each order of ``ids``: its number, day (text), buyer id, company and country as the
    statement's row has them; ``None`` for an order of another provider."""
    for order_id, provider, *values in session.execute(
            select(Order.id, Order.provider, Order.order_number,
                   as_text(Order.created_at, False, postgresql), Buyer.id, Buyer.company,
                   Buyer.country)
            .outerjoin(Buyer, Buyer.id == Order.buyer_id)
            .where(among(session, Order.id, sorted(ids)))):
        yield order_id, tuple(values) if provider == LOCAL else None


def _documents(session: Session, merchant_id: int, numbers: set[str], postgresql: bool,
               ) -> dict[str | None, tuple[Any, Any]]:
    """Each document number's activation and due day (text) as the statement's row has
    them: the invoice's own, or a credit note's invoice's; ``(None, None)`` for a number
    the merchant has no document of."""
    doc, orig = aliased(Invoice), aliased(Invoice)
    invoice = doc.kind == "invoice"
    found: dict[str | None, tuple[Any, Any]] = dict.fromkeys(numbers, (None, None))
    for number, activation, due in session.execute(
            select(doc.number,
                   as_text(case((invoice, doc.issued_on), else_=orig.issued_on), False,
                           postgresql),
                   as_text(case((invoice, doc.due_on), else_=orig.due_on), False, postgresql))
            .outerjoin(orig, orig.id == doc.invoice_id)
            .where(doc.merchant_id == merchant_id, among(session, doc.number, sorted(numbers)))):
        found[number] = (activation, due)
    return found


def journal_parts(session: Session, merchant: Merchant, monday: date,
                  ) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """The week's movements of the merchant's local-provider orders, oldest first, each
    as its own columns (kind, amount, currency, time, description, order id, document
    number) and what follows them in the rows of ``_rows_query(merchant, monday,
    text=...)`` (order number, order day, buyer id, company, country, document number,
    activation day, due day; times and days as text): the same tuple for the movements
    of one order and document."""
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    orders: dict[int, tuple[Any, ...] | None] = {}
    documents: dict[str | None, tuple[Any, Any]] = {None: (None, None)}
    tails: dict[tuple[int, str | None], tuple[Any, ...] | None] = {}  # what follows the
    # movement's own columns, by order and document: the order's, the number, the document's
    for batch in raw_batches(connection, _movements_query(merchant.id, monday, postgresql)):
        if len(tails) > KEPT:
            tails.clear()
        pairs = {(row[5], row[6]) for row in batch if (row[5], row[6]) not in tails}
        if not pairs:
            yield from _joined(batch, tails)
            continue
        wanted = {order_id for order_id, _ in pairs if order_id not in orders}
        if len(orders) + len(wanted) > KEPT:
            orders.clear()
            wanted = {order_id for order_id, _ in pairs}
        if wanted:
            orders.update(_orders(session, wanted, postgresql))
        numbers = {number for _, number in pairs if number not in documents}
        if len(documents) + len(numbers) > KEPT:
            documents.clear()
            documents[None] = (None, None)
            numbers = {number for _, number in pairs if number is not None}
        if numbers:
            documents.update(_documents(session, merchant.id, numbers, postgresql))
        for order_id, number in pairs:
            order = orders.get(order_id)  # none: as the join, left out
            tails[(order_id, number)] = None if order is None else (*order, number,
                                                                     *documents[number])
        yield from _joined(batch, tails)


def _joined(batch: list[Any], tails: dict[tuple[int, str | None], tuple[Any, ...] | None],
            ) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """The batch's movements of local-provider orders, each with what follows its own
    columns (``tails``, by order and document)."""
    for row in batch:
        tail = tails[(row[5], row[6])]
        if tail is not None:
            yield row, tail


def raw_batches(connection: Connection, query: Select[Any]) -> Iterator[list[Any]]:
    """The rows of ``query`` as the driver gives them (tuples; no SQLAlchemy result row,
    no type processing: the query asks for what it needs as text), ``BATCH`` at a time,
    read on ``connection`` (in its transaction) through a cursor of the driver's own: a
    server-side cursor on PostgreSQL. There a thread of its own reads the next batches (at
    most ``_AHEAD`` waiting) while the caller writes one: psycopg lets go of the GIL while
    it waits for the server, which works meanwhile (the caller may run other queries on
    the connection meanwhile: psycopg takes them in turn). Stopping early (the caller's
    error) stops the reading. (SQLite's reads are short work in this process: read in
    turn.)"""
    compiled = query.compile(dialect=connection.dialect)
    processors = compiled._bind_processors
    params = {name: processors[name](value) if name in processors else value
              for name, value in compiled.construct_params().items()}
    driver = connection.connection.dbapi_connection
    assert driver is not None
    postgresql = connection.dialect.name == "postgresql"
    cursor = driver.cursor(name=f"statement_rows_{threading.get_ident()}") if postgresql \
        else driver.cursor()
    arguments = params if postgresql else tuple(params[name] for name in compiled.positiontup or ())
    # the engine's listeners see the statement as they see any other (logging, plans)
    connection.dispatch.before_cursor_execute(connection, cursor, compiled.string, arguments,
                                              None, False)
    cursor.execute(compiled.string, arguments)
    if not postgresql:  # SQLite: its steps are short work in this process, read here
        try:
            while batch := cursor.fetchmany(BATCH):
                yield batch
        finally:
            cursor.close()
        return
    batches: queue.Queue[list[Any] | BaseException] = queue.Queue(maxsize=_AHEAD)
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                batch = cursor.fetchmany(BATCH)
                batches.put(batch)
                if not batch:
                    return
        except BaseException as exc:  # raised to the caller, in its thread
            batches.put(exc)

    reader = threading.Thread(target=read, name="statement-rows", daemon=True)
    reader.start()
    try:
        while True:
            batch = batches.get()
            if isinstance(batch, BaseException):
                raise batch
            if not batch:
                return
            yield batch
    finally:
        stop.set()
        while reader.is_alive():  # it may wait to put a batch: take them
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.05)
        cursor.close()
