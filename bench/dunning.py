"""The daily dunning tick on a large ledger: its time grows with the receivables due, not
with all of them.

Three datasets, measured in the same run on each backend: (A) ``--total`` receivables of
which ``--due-percent`` are due on the bench day, (B) the same total with twice as many due,
(C) a tenth of the total with as many due as A. Each due receivable gets exactly one step, the
day-5 e-mail reminder (an ``.eml`` file in the outbox folder). Prints the tick's seconds, due
receivables per second, the ratios B/A (expected about 2) and C/A (expected about 1), the
seconds of the read of the due ids alone and the database's plan for that read. Exits
non-zero if a check fails (steps taken, notices delivered, errors reported).

    python bench/dunning.py --total 1000000 --due-percent 1
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import (
    add_ledger_options,
    bench_folder,
    new_ledger,
    open_at_19,
    order_snapshot,
    print_figures,
    progress,
    stop_on_sigterm,
)
from sqlalchemy import Engine, bindparam, delete, event, func, insert, select, update

from core.hooks import Hooks
from core.ledger.db import session_scope
from core.ledger.models import (
    DunningStep,
    Invoice,
    Merchant,
    Order,
    Receivable,
    ShopConnection,
)
from core.plugins import get_plugin_manager
from core.receivables.policy import default_policy
from core.receivables.tick import DailyTick

POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/invoicekit_bench_dunning"
DAY = date(2026, 5, 4)  # the bench day: the tick runs for it
MERCHANT_ID = 3333
CHUNK = 20_000  # rows per INSERT or UPDATE executemany
GROSS, NET = 119_000, 100_000  # 1,190.00 EUR at 19 %
IBAN = "DE02100200304000000001"
SPREAD_DAYS = 30  # the receivables not due are looked at again within this many days


def at_nine(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9)


def chunks(items: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def spread(total: int, count: int, shift: int = 0) -> list[int]:
    """``count`` ids of ``1..total`` spread evenly, each moved up by ``shift``."""
    return [1 + (k * total) // count + shift for k in range(count)]


# -- the ledger ---------------------------------------------------------------------------

def fresh_ledger(url: str | None, folder: Path) -> Engine:
    """An empty, migrated ledger with merchant 3333 (its policy the default, recorded as the
    tick records it once the choice window closed) and the shop ``bench``."""
    engine = new_ledger(url, folder, MERCHANT_ID)
    with session_scope(engine) as session:
        merchant = session.get(Merchant, MERCHANT_ID)
        merchant.dunning_policy = default_policy().to_json()
        merchant.dunning_policy_set_by = "default"
        merchant.dunning_policy_set_at = at_nine(DAY - timedelta(days=60))
    return engine


def populate(engine: Engine, total: int) -> None:
    """``total`` active orders, each with one invoice and its open receivable, none due on
    the bench day: each waits for its first step (the call, the day after the purchase) on
    one of the next 30 days."""
    snapshot = order_snapshot()
    with session_scope(engine) as session:
        connection_id = session.scalars(select(ShopConnection.id).where(
            ShopConnection.name == "bench")).one()
    created = at_nine(DAY)
    for first in range(1, total + 1, CHUNK):
        ids = range(first, min(first + CHUNK, total + 1))
        orders, invoices, receivables = [], [], []
        for i in ids:
            next_on = DAY + timedelta(days=1 + i % SPREAD_DAYS)
            purchased = next_on - timedelta(days=1)
            due = purchased + timedelta(days=30)
            orders.append({
                "id": i, "connection_id": connection_id, "shop_order_id": str(i),
                "order_number": str(i), "currency": "EUR", "provider": "local",
                "status": "active", "authorised": GROSS, "activated": GROSS,
                "total_seen": GROSS, "open_by_rate": open_at_19(GROSS), "snapshot": snapshot,
                "created_at": created, "updated_at": created})
            invoices.append({
                "id": i, "merchant_id": MERCHANT_ID, "order_id": i,
                "idempotency_key": f"bench-invoice-{i}", "kind": "invoice",
                "number": f"INV-{i:07d}", "issued_on": purchased, "due_on": due,
                "currency": "EUR", "gross": GROSS, "net": NET, "tax": GROSS - NET,
                "payment_reference": f"BP{i}/{MERCHANT_ID}", "iban": IBAN,
                "bic": "ABCDDEFFXXX"})
            receivables.append({
                "id": i, "merchant_id": MERCHANT_ID, "order_id": i, "invoice_id": i,
                "currency": "EUR", "gross": GROSS, "credited": 0, "paid": 0,
                "purchased_on": purchased, "issued_on": purchased, "due_on": due,
                "status": "open", "next_step_on": next_on, "created_at": created,
                "updated_at": created})
        with engine.begin() as conn:
            conn.execute(insert(Order), orders)
            conn.execute(insert(Invoice), invoices)
            conn.execute(insert(Receivable), receivables)
        if (ids.stop - 1) % 200_000 < CHUNK or ids.stop > total:
            progress(f"  {ids.stop - 1:,} of {total:,} orders, invoices and receivables")
    with engine.begin() as conn:
        conn.execute(update(Merchant).values(next_invoice=total + 1))
        if engine.dialect.name == "postgresql":
            for table in ("orders", "invoices", "receivables"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")


def make_due(engine: Engine, ids: Sequence[int]) -> None:
    """Receivables ``ids`` due on the bench day for the day-5 reminder: bought 5 days ago,
    the call taken the day after; any later step of theirs is forgotten."""
    purchased, due = DAY - timedelta(days=5), DAY + timedelta(days=25)
    receivables, invoices = Receivable.__table__, Invoice.__table__
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for part in chunks(ids):
            conn.execute(delete(DunningStep).where(DunningStep.receivable_id.in_(part)))
            params = [{"rid": i} for i in part]
            conn.execute(update(receivables).where(receivables.c.id == bindparam("rid"))
                         .values(purchased_on=purchased, issued_on=purchased, due_on=due,
                                 next_step_on=DAY, default_on=None, status="open"), params)
            conn.execute(update(invoices).where(invoices.c.id == bindparam("rid"))
                         .values(issued_on=purchased, due_on=due), params)
            called = purchased + timedelta(days=1)
            conn.execute(insert(DunningStep), [
                {"receivable_id": i, "step_id": "call", "action": "remind", "channel": "call",
                 "scheduled_on": called, "taken_on": called, "status": "done",
                 "outcome": "reached", "created_at": now, "updated_at": now} for i in part])


def explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """The database's plan for ``statement``: ``EXPLAIN QUERY PLAN`` or ``EXPLAIN``."""
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    return [str(row[-1]) for row in rows]


def read_due(engine: Engine, tick: DailyTick) -> tuple[int, float, list[str]]:
    """Read the due ids as the tick does (``DailyTick._due_ids``): how many, in how many
    seconds, and the plan of the (first) query it sent."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "next_step_on" in statement and not sent:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        started = time.perf_counter()
        count = sum(1 for _ in tick._due_ids(DAY))
        seconds = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return count, seconds, explain(engine, *sent[0]) if sent else ["(no query seen)"]


# -- the measurement ----------------------------------------------------------------------

@dataclass
class Measured:
    """One tick on one dataset."""

    label: str
    total: int
    due: int
    seconds: float = 0.0
    cpu: float = 0.0
    read_seconds: float = 0.0
    read: int = 0
    plan: list[str] = field(default_factory=list)
    taken: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    delivered: int = 0
    files: int = 0
    reminders: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.due / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> list[str]:
        out = []
        if self.read != self.due:
            out.append(f"read {self.read} due ids, expected {self.due}")
        if self.taken != {"reminder": self.due} or self.skipped:
            out.append(f"steps taken {self.taken} (skipped {self.skipped}), expected "
                       f"{self.due} reminder")
        if not self.delivered == self.files == self.reminders == self.due:
            out.append(f"notices delivered {self.delivered}, .eml files {self.files}, "
                       f"reminders done {self.reminders}, expected {self.due}")
        out += [f"tick error: {e}" for e in self.errors[:5]]
        return out


def set_aside(home: Path) -> None:
    """Move the outbox and letters of an earlier tick out of the way (into ``home/spent``,
    left in place with the ledger), so the tick starts with empty folders. Not deleted: on
    a file system without a journal (ext4 here) the inodes of files deleted in the last
    minutes are passed over one by one for each new file (``recently_deleted``), so a tick
    right after deleting 10,000 files spends most of its time creating its own; a real
    outbox is not emptied seconds before a tick."""
    spent = home / "spent"
    spent.mkdir(exist_ok=True)
    for folder in ("outbox", "letters"):
        if (home / folder).exists():
            (home / folder).rename(spent / f"{folder}-{time.time_ns()}")


def measure(engine: Engine, home: Path, label: str, total: int, due: int) -> Measured:
    """Time the read of the due ids, then the tick, for the bench day; count what it did."""
    result = Measured(label, total, due)
    set_aside(home)
    tick = DailyTick(engine, Hooks(get_plugin_manager()), home)
    result.read, result.read_seconds, result.plan = read_due(engine, tick)
    started, cpu = time.perf_counter(), time.process_time()
    report = tick.run(DAY)
    result.seconds = time.perf_counter() - started
    result.cpu = time.process_time() - cpu
    result.taken, result.skipped = dict(report.taken), report.skipped
    result.delivered, result.errors = report.delivered, report.errors
    result.files = len(list((home / "outbox").glob("*.eml")))
    with session_scope(engine, write=False) as session:
        result.reminders = session.scalars(select(func.count()).select_from(DunningStep).where(
            DunningStep.step_id == "reminder", DunningStep.status == "done")).one()
    return result


def show(m: Measured) -> None:
    print(f"{m.label}: {m.total:,} receivables, {m.due:,} due: tick {m.seconds:.2f} s "
          f"({m.per_second:.0f} due/s, {1000 * m.seconds / m.due:.2f} ms each, CPU "
          f"{m.cpu:.2f} s); read of the due ids alone {m.read_seconds:.3f} s")
    print(f"    steps taken: {m.taken}; notices delivered: {m.delivered}; .eml files: "
          f"{m.files}; errors: {len(m.errors)}")
    print("    plan of the read of the due ids:")
    for line in m.plan:
        print(f"        {line}")
    for failure in m.failures:
        print(f"    CHECK FAILED: {failure}")


@dataclass
class BackendRun:
    name: str
    runs: dict[str, Measured]

    @property
    def ok(self) -> bool:
        return not any(m.failures for m in self.runs.values())

    def ratio(self, label: str, read: bool = False) -> float:
        """``label``'s tick time (or read of the due ids) over A's."""
        def seconds(m: Measured) -> float:
            return m.read_seconds if read else m.seconds

        return seconds(self.runs[label]) / seconds(self.runs["A"])


def build(url: str | None, home: Path, total: int, due: int) -> Engine:
    """A fresh ledger with ``total`` receivables, ``due`` of them due (spread evenly)."""
    started = time.perf_counter()
    engine = fresh_ledger(url, home)
    populate(engine, total)
    make_due(engine, spread(total, due))
    if engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    print(f"built {total:,} orders, invoices and receivables in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return engine


def warm_up(folder: Path) -> None:
    """One tick on a tiny SQLite ledger, so that the first measurement does not pay for
    what a process does once (imports, templates, caches)."""
    home = folder / "warm-up"
    engine = fresh_ledger(None, home)
    populate(engine, 20)
    make_due(engine, spread(20, 2))
    DailyTick(engine, Hooks(get_plugin_manager()), home).run(DAY)
    engine.dispose()


def bench_backend(name: str, url: str | None, folder: Path, total: int,
                  percent: float) -> BackendRun:
    """A and B on a ledger of ``total`` receivables, C on one of a tenth as many."""
    due = max(round(total * percent / 100), 1)
    print(f"\n== dunning tick, {name}", flush=True)
    progress(f"{name}: building {total:,} receivables")
    home = folder / f"{name}-{total}"
    engine = build(url, home, total, due)
    runs = {}
    progress(f"{name}: A, {due:,} due")
    runs["A"] = measure(engine, home, "A", total, due)
    show(runs["A"])
    # A's due again, and as many more between them
    make_due(engine, spread(total, due) + spread(total, due, total // (2 * due)))
    progress(f"{name}: B, {2 * due:,} due")
    runs["B"] = measure(engine, home, "B", total, 2 * due)
    show(runs["B"])
    engine.dispose()

    small = total // 10
    progress(f"{name}: building {small:,} receivables")
    home = folder / f"{name}-{small}"
    engine = build(url, home, small, due)
    progress(f"{name}: C, {due:,} due")
    runs["C"] = measure(engine, home, "C", small, due)
    show(runs["C"])
    engine.dispose()
    run = BackendRun(name, runs)
    print(f"B/A (twice the due receivables, same total): tick {run.ratio('B'):.2f} "
          f"(expected ~2), read of the due ids {run.ratio('B', read=True):.2f}")
    print(f"C/A (a tenth of the receivables, same due):  tick {run.ratio('C'):.2f} "
          f"(expected ~1), read of the due ids {run.ratio('C', read=True):.2f}")
    return run


def summary(runs: list[BackendRun]) -> None:
    """One table: a row per figure, a column per backend."""
    rows: list[tuple[str, Callable[[BackendRun], float], str]] = []
    for label in "ABC":
        rows += [(f"{label}: due receivables", lambda r, x=label: r.runs[x].due, ",.0f"),
                 (f"{label}: tick s", lambda r, x=label: r.runs[x].seconds, ".2f"),
                 (f"{label}: due receivables/s", lambda r, x=label: r.runs[x].per_second,
                  ".0f"),
                 (f"{label}: read of the due ids s", lambda r, x=label: r.runs[x].read_seconds,
                  ".3f")]
    rows += [("tick B/A (2x due; expected ~2)", lambda r: r.ratio("B"), ".2f"),
             ("tick C/A (1/10 of all; expected ~1)", lambda r: r.ratio("C"), ".2f"),
             ("read B/A", lambda r: r.ratio("B", read=True), ".2f"),
             ("read C/A", lambda r: r.ratio("C", read=True), ".2f")]
    print_figures(runs, rows, "steps, notices, errors", width=40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=1_000_000,
                        help="receivables of datasets A and B [default: %(default)s]")
    parser.add_argument("--due-percent", type=Decimal, default=Decimal(1),
                        help="share due in A, in percent, at most 10 [default: %(default)s]")
    add_ledger_options(parser, POSTGRESQL, "ledgers and outboxes")
    args = parser.parse_args()
    if not 0 < args.due_percent <= 10 or args.total < 20:
        parser.error("--due-percent must be above 0 and at most 10, --total at least 20")
    stop_on_sigterm()
    folder = bench_folder(args)
    print(f"ledgers and outboxes: {folder}")
    warm_up(folder)
    backends = [("embedded", None), ("production", args.database_url)]
    runs = [bench_backend(name, url, folder, args.total, float(args.due_percent))
            for name, url in backends if args.backend in (name, "both")]
    summary(runs)
    if not all(r.ok for r in runs):
        raise SystemExit("a check failed")


if __name__ == "__main__":
    main()
