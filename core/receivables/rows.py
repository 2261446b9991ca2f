"""The daily tick's many rows with SQLAlchemy Core rather than ORM objects: a batch's due
receivables with their steps and charges read into plain rows (:class:`DueReceivable`,
with the attributes of :class:`~core.ledger.models.Receivable` that deciding, the notice
and the default date read), and the steps recorded and receivables moved on in a few
statements (:class:`Writes`: each ``executemany`` as one statement over the rows as JSON on
PostgreSQL and SQLite). The rows written are those the ORM would
write: the same columns and defaults, an update only where a value changes (and then
``updated_at`` with it, the column's ``onupdate``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Integer,
    Text,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from core.ledger.db import among
from core.ledger.models import Charge, DunningStep, Invoice, Order, Owed, Receivable
from core.ledger.models.base import UTCDateTime, utcnow

__all__ = ["ChargeRow", "DueReceivable", "StepRow", "Writes", "due_rows",
           "notice_sources", "receivable_rows"]


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_RECEIVABLE = (Receivable.id, Receivable.merchant_id, Receivable.order_id,
               Receivable.invoice_id, Receivable.installment, Receivable.installments,
               Receivable.currency, Receivable.gross, Receivable.credited, Receivable.paid,
               Receivable.purchased_on, Receivable.issued_on, Receivable.due_on,
               Receivable.status, Receivable.default_on, Receivable.next_step_on)


@dataclass(slots=True)
class StepRow:
    """What the tick reads of a step taken or skipped."""

    id: int
    step_id: str
    action: str
    channel: str
    status: str
    taken_on: date


@dataclass(slots=True)
class ChargeRow:
    """What the tick reads of a charge (see :class:`~core.ledger.models.Charge`)."""

    kind: str
    claimed: int
    paid: int
    waived: int
    waived_on: date | None

    @property
    def open(self) -> int:
        return self.claimed - self.paid - self.waived


@dataclass(slots=True)
class DueReceivable(Owed):
    """A receivable as the tick reads it, with its steps (by id) and charges (by kind)."""

    id: int
    merchant_id: int
    order_id: int
    invoice_id: int
    installment: int | None
    installments: int | None
    currency: str
    gross: int
    credited: int
    paid: int
    purchased_on: date
    issued_on: date
    due_on: date
    status: str
    default_on: date | None
    next_step_on: date | None
    steps: list[StepRow] = field(default_factory=list)
    charges: list[ChargeRow] = field(default_factory=list)



def due_rows(session: Session, ids: list[int], day: date) -> list[DueReceivable]:
    """The receivables ``ids`` still due on ``day`` that no other worker holds, locked, in
    the order the tick takes them, with their steps and charges: three queries."""
    query = (select(*_RECEIVABLE)
             .where(among(session, Receivable.id, ids), Receivable.next_step_on <= day)
             .order_by(Receivable.next_step_on, Receivable.id)
             .with_for_update(skip_locked=True))
    return _with_steps_and_charges(session, [DueReceivable(*row) for row in
                                             session.execute(query)])


def receivable_rows(session: Session, ids: Collection[int], *, lock: bool = False,
                    steps: bool = True, charges: bool = True) -> dict[int, DueReceivable]:
    """The receivables ``ids`` (locked if ``lock``) with their steps and charges (unless
    not wanted: left empty), by id."""
    if not ids:
        return {}
    query = select(*_RECEIVABLE).where(among(session, Receivable.id, sorted(ids)))
    if lock:
        query = query.with_for_update()
    found = _with_steps_and_charges(session, [DueReceivable(*row) for row in
                                              session.execute(query)], steps, charges)
    return {r.id: r for r in found}


def _with_steps_and_charges(session: Session, found: list[DueReceivable],
                            steps: bool = True, charges: bool = True,
                            ) -> list[DueReceivable]:
    by_id = {r.id: r for r in found}
    if not by_id:
        return found
    wanted = sorted(by_id)
    for receivable_id, *values in [] if not steps else session.execute(
            select(DunningStep.receivable_id, DunningStep.id, DunningStep.step_id,
                   DunningStep.action, DunningStep.channel, DunningStep.status,
                   DunningStep.taken_on)
            .where(among(session, DunningStep.receivable_id, wanted))
            .order_by(DunningStep.id)):
        by_id[receivable_id].steps.append(StepRow(*values))
    for receivable_id, *values in [] if not charges else session.execute(
            select(Charge.receivable_id, Charge.kind, Charge.claimed, Charge.paid,
                   Charge.waived, Charge.waived_on)
            .where(among(session, Charge.receivable_id, wanted))
            .order_by(Charge.kind, Charge.id)):
        by_id[receivable_id].charges.append(ChargeRow(*values))
    return found


def notice_sources(session: Session, receivables: Iterable[DueReceivable],
                   ) -> tuple[dict[int, Any], dict[int, Any]]:
    """What the notices of ``receivables`` say of their invoices (by invoice id) and orders
    (``order_number`` and the snapshot's ``buyer`` alone, by order id): two queries."""
    receivables = list(receivables)
    if not receivables:
        return {}, {}
    invoices = {row.id: row for row in session.execute(
        select(Invoice.id, Invoice.number, Invoice.issued_on, Invoice.due_on,
               Invoice.payment_reference, Invoice.iban, Invoice.bic)
        .where(among(session, Invoice.id, sorted({r.invoice_id for r in receivables}))))}
    orders = {row.id: row for row in session.execute(
        select(Order.id, Order.order_number, Order.snapshot["buyer"].label("buyer"))
        .where(among(session, Order.id, sorted({r.order_id for r in receivables}))))}
    return invoices, orders


_SET_NEXT = (update(Receivable.__table__)
             .where(Receivable.__table__.c.id == bindparam("receivable"))
             .values(next_step_on=bindparam("next_on")))
_SET_DEFAULT = (update(Receivable.__table__)
                .where(Receivable.__table__.c.id == bindparam("receivable"))
                .values(default_on=bindparam("default_on")))


class Writes:
    """Rows to write, gathered and written together by :meth:`flush`: steps inserted,
    receivables' next day and default date, steps' status (with what goes with it)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.steps: list[dict[str, Any]] = []
        self.next_on: list[dict[str, Any]] = []
        self.default_on: list[dict[str, Any]] = []
        self.statuses: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def step(self, receivable_id: int, step_id: str, action: str, channel: str,
             scheduled_on: date, taken_on: date, status: str,
             notice: dict[str, Any] | None = None) -> None:
        """A step row to insert; without a notice its column is left out (SQL ``NULL``,
        as the ORM leaves it, where ``None`` would be JSON ``null``)."""
        row = {"receivable_id": receivable_id, "step_id": step_id, "action": action,
               "channel": channel, "scheduled_on": scheduled_on, "taken_on": taken_on,
               "status": status}
        if notice is not None:
            row["notice"] = notice
        self.steps.append(row)

    def move(self, receivable: DueReceivable, next_on: date | None) -> None:
        """The receivable is looked at again on ``next_on`` (written if that changes)."""
        if next_on != receivable.next_step_on:
            receivable.next_step_on = next_on
            self.next_on.append({"receivable": receivable.id, "next_on": next_on})

    def default(self, receivable: DueReceivable, default_on: date) -> None:
        """The receivable's first day of default is ``default_on`` (written if that
        changes)."""
        if default_on != receivable.default_on:
            receivable.default_on = default_on
            self.default_on.append({"receivable": receivable.id, "default_on": default_on})

    def status(self, step_id: int, **values: Any) -> None:
        """Set the step's ``status`` and the other columns given."""
        self.statuses.setdefault(tuple(sorted(values)), []).append({"step": step_id,
                                                                    **values})

    def flush(self) -> None:
        session = self.session
        # on PostgreSQL and SQLite each executemany below as one statement (unless the
        # engine has a JSON serializer of its own: the notices are written as json.dumps
        # writes them)
        dialect = session.get_bind().dialect
        one = (dialect.name == "postgresql" or (dialect.name == "sqlite" and _UPDATE_FROM)) \
            and not dialect._json_serializer
        table = DunningStep.__table__
        start = 0
        for end in range(1, len(self.steps) + 1):  # in order, a statement per run of rows
            if end == len(self.steps) or len(self.steps[end]) != len(self.steps[start]):
                if one:
                    _insert_from_json(session, table, self.steps[start:end])
                else:
                    session.execute(insert(table), self.steps[start:end])
                start = end
        if one:
            _update_from_json(session, Receivable.__table__, "receivable", self.next_on)
            _update_from_json(session, Receivable.__table__, "receivable", self.default_on)
            for values in self.statuses.values():
                _update_from_json(session, table, "step", values)
        else:
            if self.next_on:
                session.execute(_SET_NEXT, self.next_on)
            if self.default_on:
                session.execute(_SET_DEFAULT, self.default_on)
            for names, values in self.statuses.items():
                session.execute(update(table).where(table.c.id == bindparam("step")).values(
                    {name: bindparam(name) for name in names}), values)
        self.steps, self.next_on, self.default_on, self.statuses = [], [], [], {}


_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33)  # SQLite's UPDATE ... FROM
# the SQL type of each value of the rows written from JSON (see _recordset), else text
_TYPES = {"receivable": Integer, "step": Integer, "receivable_id": Integer, "next_on": Date,
          "default_on": Date, "scheduled_on": Date, "taken_on": Date, "notice": JSON}
_COLUMNS = {"next_on": "next_step_on"}  # parameter -> column, where the names differ


def _recordset(session: Session, rows: Collection[dict[str, Any]], names: list[str],
               ) -> tuple[Any, dict[str, Any]]:
    """The rows as one table read from one JSON text parameter, and its value of each of
    ``names``, typed as its column: a batch's rows as one short statement (the same text
    for any number of rows, prepared once) and one parameter, where an ``executemany``
    runs a statement per row (and SQLAlchemy works on each row's parameters). On
    PostgreSQL ``json_to_recordset``; on SQLite ``json_each``, its values by
    ``json_extract`` (a day as the ISO text SQLite stores; the rows in order). A
    ``notice`` (a JSON column) keeps the text ``json.dumps`` gives it alone: PostgreSQL
    takes a ``json`` value's text as it is, and SQLite gets that text as a JSON string."""
    postgresql = _postgresql(session)
    text = json.dumps([{name: value.isoformat() if isinstance(value, date)
                        else json.dumps(value) if name == "notice" and not postgresql
                        else value for name, value in row.items()} for row in rows])
    parameter = bindparam(None, text, type_=Text)
    if postgresql:
        source = func.json_to_recordset(cast(parameter, JSON)).table_valued(
            *(column(name, _TYPES.get(name, Text)) for name in names)).render_derived(
            with_types=True)
        return source, {name: source.c[name] for name in names}
    source = func.json_each(parameter).table_valued("key", "value")
    return source, {name: func.json_extract(source.c.value, f"$.{name}",
                                            type_=_TYPES.get(name, Text)) for name in names}


def _update_from_json(session: Session, table: Any, key: str,
                      rows: list[dict[str, Any]]) -> None:
    """What ``executemany`` of ``UPDATE table SET ... WHERE id = :key`` over ``rows`` does,
    as one ``UPDATE ... FROM`` the rows as JSON (:func:`_recordset`). A key given twice
    keeps its last row, as the statements one after the other would leave it;
    ``updated_at`` is set as the column's ``onupdate`` sets it."""
    if not rows:
        return
    names = [key, *(name for name in rows[0] if name != key)]
    _, values = _recordset(session, {row[key]: row for row in rows}.values(), names)
    session.execute(update(table).where(table.c.id == values[key]).values(
        {_COLUMNS.get(name, name): values[name] for name in names[1:]}))


def _insert_from_json(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """What ``executemany`` of ``INSERT INTO table`` over ``rows`` (all with the same keys)
    does, as one ``INSERT ... SELECT`` from the rows as JSON (:func:`_recordset`), in
    the rows' order (so the ids are given in that order too); ``created_at`` and
    ``updated_at`` as their default gives them (once for the statement)."""
    names = list(rows[0])
    source, values = _recordset(session, rows, names)
    now = literal(utcnow(), UTCDateTime())
    query = select(*(values[name] for name in names), now, now)
    if not _postgresql(session):  # json_each's rows in the array's order
        query = query.order_by(source.c.key)
    session.execute(insert(table).from_select([*names, "created_at", "updated_at"], query))
