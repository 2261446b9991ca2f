"""Weekly statements and bank file imports on a large ledger: their time grows with the rows
they handle, and a statement's memory does not.

On each backend, measured in the same run:

- **statement**: the weekly statement (CSV and PDF, ``build_statement``) of (A) a week with
  ``--movements`` movements and (B) a week with a tenth as many, both weeks in one ledger
  of 10,000 local orders. Each build runs in a fresh child process, which reports its peak
  memory (``ru_maxrss``) before and after the build. Checks: the rows of the CSV, and its
  ``total:payout`` against the sum of what was inserted.
- **import**: a camt.053.001.08 file of (B) a tenth of ``--transactions`` credit transfers,
  then one of (A) ``--transactions``, each crediting one buyer's virtual IBAN with exactly
  what its one receivable has open; then A again, which must find only duplicates. Checks:
  every transfer booked, every receivable paid settled, no buyer credit. On PostgreSQL the
  ledger is analysed after each import, untimed, as autovacuum would (see ``analyze``).

Prints seconds, rows (or transactions) per second, the statement's memory, the ratios A/B,
and the database's plans of the statement's read and of the read of a buyer's open
receivables. Exits non-zero if a check fails.

    python bench/payments.py --movements 1000000 --transactions 100000
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from xml.sax.saxutils import escape

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
from sqlalchemy import Engine, event, func, insert, select, update

from core.ledger.db import make_engine, session_scope
from core.ledger.models import (
    BankTransactionRecord,
    Buyer,
    Invoice,
    Merchant,
    Movement,
    Order,
    Payment,
    Receivable,
    ShopConnection,
)
from core.ledger.store import Ledger
from core.local_provider.banking import virtual_iban
from core.payments.booking import import_file
from core.receivables.book import payable
from core.statements.build import build_statement, parse_week

POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/invoicekit_bench_payments"
MERCHANT_ID = 3333
CHUNK = 20_000  # rows per INSERT executemany
ORDERS = 10_000  # local orders of the statement ledger
WEEK_A, WEEK_B = "2026-W10", "2026-W11"
BOOKED_ON = date(2026, 3, 16)  # the bank's booking day of the transfers
ACCOUNT = "DE89370400440532013000"  # the provider's account the bank files are of
PAYER = "DE45200411331234567890"
MB = 1024  # KiB

# what the week's payout does with a movement's amount (seen from the buyer, as journalled):
# the provider pays what it invoices, takes back credit notes, fees and what buyers paid the
# merchant directly; payments to the provider, authorisations and dunning leave it alone
# (docs/payments.md). The statement's ``total:payout`` must equal the sum.
PAYOUT = {"invoice": 1, "credit_note": 1, "direct_payment": 1, "fee": -1, "fee_vat": -1,
          "payment": 0, "buyer_credit": 0, "authorisation": 0, "dunning_fee": 0}
# the kinds of ten consecutive movements, and their amounts from the order's gross
PATTERN: tuple[tuple[str, Callable[[int], int]], ...] = (
    ("authorisation", lambda g: g), ("invoice", lambda g: g),
    ("fee", lambda g: g * 699 // 10_000), ("fee_vat", lambda g: g * 133 // 100_000),
    ("credit_note", lambda g: -(g // 10)), ("payment", lambda g: -(g - g // 10)),
    ("invoice", lambda g: g), ("direct_payment", lambda g: -(g // 4)),
    ("buyer_credit", lambda g: -500), ("dunning_fee", lambda g: 4_000))


def gross_of(i: int) -> int:
    """The gross of order ``i``'s invoice: 100.00 to 5,099.93 EUR."""
    return 10_000 + (i * 7_919) % 500_000


def credited_of(i: int) -> int:
    """What a credit note took off receivable ``i`` (every seventh one is credited a tenth)."""
    return gross_of(i) // 10 if i % 7 == 0 else 0


def euros(minor: int) -> str:
    return f"{'-' if minor < 0 else ''}{abs(minor) // 100:,}.{abs(minor) % 100:02d}"


# -- the ledger ---------------------------------------------------------------------------

def populate(engine: Engine, count: int) -> None:
    """``count`` buyers, each with its virtual IBAN, one activated local order, its invoice
    and the open receivable of it (``credited_of`` credited); all ids ``1..count``."""
    snapshot = order_snapshot()
    with session_scope(engine) as session:
        connection_id = session.scalars(select(ShopConnection.id).where(
            ShopConnection.merchant_id == MERCHANT_ID)).one()
        merchant = session.get(Merchant, MERCHANT_ID)
        first_account = merchant.account_first
        session.expunge(merchant)
    created = datetime(2026, 2, 2, 9, tzinfo=UTC)
    for first in range(1, count + 1, CHUNK):
        ids = range(first, min(first + CHUNK, count + 1))
        buyers, orders, invoices, receivables = [], [], [], []
        for i in ids:
            gross, iban = gross_of(i), virtual_iban(merchant, first_account + i - 1)
            issued = date(2026, 2, 2) + timedelta(days=i % 28)
            buyers.append({
                "id": i, "merchant_id": MERCHANT_ID, "buyer_key": f"vat:DE{i:09d}",
                "company": f"Käufer {i} GmbH", "country": "DE", "virtual_iban": iban,
                "credit": 0, "created_at": created})
            orders.append({
                "id": i, "connection_id": connection_id, "shop_order_id": str(i),
                "order_number": str(i), "currency": "EUR", "provider": "local",
                "buyer_id": i, "status": "active", "authorised": gross, "activated": gross,
                "total_seen": gross, "open_by_rate": open_at_19(gross), "snapshot": snapshot,
                "created_at": created, "updated_at": created})
            invoices.append({
                "id": i, "merchant_id": MERCHANT_ID, "order_id": i,
                "idempotency_key": f"bench-invoice-{i}", "kind": "invoice",
                "number": f"INV-{i:07d}", "issued_on": issued,
                "due_on": issued + timedelta(days=30), "currency": "EUR", "gross": gross,
                "net": gross * 100 // 119, "tax": gross - gross * 100 // 119,
                "payment_reference": f"BP{i}/{MERCHANT_ID}", "iban": iban,
                "bic": "ABCDDEFFXXX"})
            receivables.append({
                "id": i, "merchant_id": MERCHANT_ID, "order_id": i, "invoice_id": i,
                "currency": "EUR", "gross": gross, "credited": credited_of(i), "paid": 0,
                "purchased_on": issued, "issued_on": issued,
                "due_on": issued + timedelta(days=30), "status": "open",
                "next_step_on": issued + timedelta(days=31), "created_at": created,
                "updated_at": created})
        with engine.begin() as conn:
            conn.execute(insert(Buyer), buyers)
            conn.execute(insert(Order), orders)
            conn.execute(insert(Invoice), invoices)
            conn.execute(insert(Receivable), receivables)
        if (ids.stop - 1) % 100_000 < CHUNK or ids.stop > count:
            progress(f"  {ids.stop - 1:,} of {count:,} buyers, orders, invoices, receivables")
    with engine.begin() as conn:
        conn.execute(update(Merchant).values(next_account=first_account + count,
                                             next_invoice=count + 1))


def add_credit_notes(engine: Engine, count: int) -> None:
    """A credit note ``CN-<i>`` for each of the orders ``1..count``, on its invoice."""
    for first in range(1, count + 1, CHUNK):
        ids = range(first, min(first + CHUNK, count + 1))
        with engine.begin() as conn:
            conn.execute(insert(Invoice), [{
                "id": count + i, "merchant_id": MERCHANT_ID, "order_id": i,
                "idempotency_key": f"bench-credit-note-{i}", "kind": "credit_note",
                "number": f"CN-{i:07d}", "issued_on": date(2026, 3, 1), "due_on": None,
                "currency": "EUR", "gross": gross_of(i) // 10, "net": 0, "tax": 0,
                "payment_reference": f"BP{i}/{MERCHANT_ID}", "iban": ACCOUNT,
                "invoice_id": i} for i in ids])


def add_foreign_order(engine: Engine, order_id: int) -> None:
    """An order of another provider: its movements are on no statement of the local one."""
    with engine.begin() as conn:
        connection_id = conn.scalar(select(ShopConnection.id))
        conn.execute(insert(Order), [{
            "id": order_id, "connection_id": connection_id, "shop_order_id": str(order_id),
            "order_number": str(order_id), "currency": "EUR", "provider": "billie",
            "status": "active", "snapshot": order_snapshot(), "open_by_rate": [],
            "created_at": datetime(2026, 2, 2, 9, tzinfo=UTC),
            "updated_at": datetime(2026, 2, 2, 9, tzinfo=UTC)}])


def add_movements(engine: Engine, week: str, count: int, foreign: int) -> int:
    """``count`` movements of the local orders spread over ``week`` (the kinds of
    ``PATTERN`` in turn, the orders round robin) and ``foreign`` of the other provider's
    order; returns the payout the week's statement must show (minor units)."""
    monday, _ = parse_week(week)
    start = datetime.combine(monday, day_time(), UTC)
    payout, seconds, total = 0, 7 * 24 * 3600, count + foreign
    for first in range(0, total, CHUNK):
        batch = []
        for k in range(first, min(first + CHUNK, total)):
            order_id = 1 + k % ORDERS if k < count else ORDERS + 1
            kind, amount_of = PATTERN[k % len(PATTERN)]
            amount = amount_of(gross_of(order_id))
            document = {"credit_note": f"CN-{order_id:07d}", "authorisation": None,
                        "buyer_credit": None}.get(kind, f"INV-{order_id:07d}")
            if k < count:
                payout += PAYOUT[kind] * amount
            batch.append({
                "merchant_id": MERCHANT_ID, "order_id": order_id, "kind": kind,
                "amount": amount, "currency": "EUR",
                "occurred_at": start + timedelta(seconds=k * seconds // total),
                "document_number": document, "idempotency_key": f"bench:{week}:{k}",
                "description": f"{kind.replace('_', ' ')} of order {order_id}"})
        with engine.begin() as conn:
            conn.execute(insert(Movement), batch)
        done = first + len(batch)
        if done % 200_000 < CHUNK or done == total:
            progress(f"  {done:,} of {total:,} movements in {week}")
    return payout


def after_bulk_load(engine: Engine, tables: tuple[str, ...]) -> None:
    """On PostgreSQL: the sequences of ``tables`` past the ids inserted, and what autovacuum
    does after a bulk load of them (``VACUUM ANALYZE``). The tables left empty are not
    analysed: a table never analysed is planned as at least 10 pages, one analysed empty as
    the few pages it has when a statement is first planned (see ``analyze``)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))")
        conn.exec_driver_sql(f"VACUUM ANALYZE {', '.join(tables)}")


def analyze(engine: Engine) -> None:
    """On PostgreSQL, between two imports (not timed): ``ANALYZE``, as autovacuum does once
    a table changed enough. It also makes the connections plan their prepared statements
    anew (psycopg prepares a statement run five times on a connection; PostgreSQL keeps a
    generic plan of it until the table's statistics change). Without it (autovacuum is off
    on some servers) lookups planned while ``bank_transactions``, ``payments`` and
    ``movements`` held a few rows stay sequential scans as the tables grow."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """The database's plan for ``statement``: ``EXPLAIN QUERY PLAN`` or ``EXPLAIN``."""
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    return [str(row[-1]) for row in rows]


class Capture:
    """The first SQL statement containing ``marker`` that ``engine`` sends while inside."""

    def __init__(self, engine: Engine, marker: str) -> None:
        self.engine, self.marker = engine, marker
        self.sent: tuple[str, Any] | None = None

    def _listen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any,
                *_: Any) -> None:
        if self.sent is None and self.marker in statement:
            self.sent = (statement, parameters)

    def __enter__(self) -> Capture:
        event.listen(self.engine, "before_cursor_execute", self._listen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._listen)


# -- the statement ------------------------------------------------------------------------

def kib() -> int:
    """This process's peak resident memory so far, KiB: Linux's ``VmHWM``. (``ru_maxrss``
    would do elsewhere, but Linux carries it over ``fork`` and ``exec``: a spawned child
    starts with its parent's peak.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def build_in_child(url: str, week: str, folder: Path) -> dict[str, Any]:
    """Run in a fresh process: build the week's statement; its time, CPU, the process's
    peak memory before and after, what it reported, and the SQL of its read."""
    engine = make_engine(url)
    with engine.connect() as conn:  # connected, as a worker process would be
        conn.exec_driver_sql("SELECT 1")
    before = kib()
    with Capture(engine, "FROM movements") as capture:
        started, cpu = time.perf_counter(), time.process_time()
        statement = build_statement(engine, MERCHANT_ID, week, folder)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = kib()
    engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "before": before, "after": after,
            "rows": statement.rows, "payout": statement.totals.payout("EUR"),
            "csv": str(statement.csv_path), "pdf": str(statement.pdf_path),
            "sql": capture.sent}


@dataclass
class Built:
    """One statement built."""

    label: str
    week: str
    expected_rows: int
    expected_payout: int
    seconds: float = 0.0
    cpu: float = 0.0
    before_kib: int = 0
    after_kib: int = 0
    rows: int = 0
    payout: int = 0
    csv_rows: int = 0
    csv_payout: Decimal | None = None
    pdf_whole: bool = False
    csv_mb: float = 0.0
    pdf_mb: float = 0.0
    plan: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.expected_rows / self.seconds if self.seconds else 0.0

    @property
    def growth_mb(self) -> float:
        return (self.after_kib - self.before_kib) / MB

    @property
    def failures(self) -> list[str]:
        out = []
        expected = Decimal(self.expected_payout) / 100
        if not self.rows == self.csv_rows == self.expected_rows:
            out.append(f"statement rows {self.rows}, CSV rows {self.csv_rows}, expected "
                       f"{self.expected_rows}")
        if self.payout != self.expected_payout or self.csv_payout != expected:
            out.append(f"payout {euros(self.payout)}, CSV total:payout {self.csv_payout}, "
                       f"expected {euros(self.expected_payout)}")
        if not self.pdf_whole:
            out.append("the PDF does not end with %%EOF")
        return out


def read_csv(path: Path) -> tuple[int, Decimal | None]:
    """The movement rows of a statement CSV and its ``total:payout`` in EUR."""
    rows, payout = 0, None
    with path.open(newline="", encoding="utf-8") as text:
        reader = csv.reader(text)
        columns = next(reader)
        line_type, net = columns.index("line_type"), columns.index("net_amount")
        for values in reader:
            if values[line_type] == "total:payout":
                payout = Decimal(values[net])
            elif not values[line_type].startswith("total:"):
                rows += 1
    return rows, payout


def measure_statement(engine: Engine, url: str, folder: Path, label: str, week: str,
                      rows: int, payout: int) -> Built:
    """Build the statement in a fresh child process (spawned), then check its files."""
    result = Built(label, week, rows, payout)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        child = pool.submit(build_in_child, url, week, folder).result()
    result.seconds, result.cpu = child["seconds"], child["cpu"]
    result.before_kib, result.after_kib = child["before"], child["after"]
    result.rows, result.payout = child["rows"], child["payout"]
    result.csv_rows, result.csv_payout = read_csv(Path(child["csv"]))
    result.csv_mb = Path(child["csv"]).stat().st_size / 1e6
    result.pdf_mb = Path(child["pdf"]).stat().st_size / 1e6
    with Path(child["pdf"]).open("rb") as pdf:
        pdf.seek(-16, 2)
        result.pdf_whole = pdf.read().rstrip().endswith(b"%%EOF")
    if child["sql"] is not None:
        result.plan = explain(engine, *child["sql"])
    return result


def show_statement(m: Built) -> None:
    print(f"statement {m.label}: {m.expected_rows:,} movements in {m.week}: {m.seconds:.2f} s "
          f"({m.per_second:,.0f} rows/s, CPU {m.cpu:.2f} s); peak memory "
          f"{m.after_kib / MB:.1f} MB, {m.growth_mb:.1f} MB above the "
          f"{m.before_kib / MB:.1f} MB before the build")
    print(f"    CSV rows: {m.csv_rows:,}; total:payout {m.csv_payout} EUR (expected "
          f"{euros(m.expected_payout)}); CSV {m.csv_mb:.1f} MB, PDF {m.pdf_mb:.1f} MB")
    for failure in m.failures:
        print(f"    CHECK FAILED: {failure}")


def bench_statements(url: str | None, folder: Path, movements: int,
                     ) -> tuple[dict[str, Built], list[str]]:
    """A ledger with weeks A and B; each week's statement built and checked; the plan."""
    home = folder / "statements"
    started = time.perf_counter()
    engine = new_ledger(url, home, MERCHANT_ID)
    populate(engine, ORDERS)
    add_credit_notes(engine, ORDERS)
    add_foreign_order(engine, ORDERS + 1)
    small = movements // 10
    expected = {"A": (WEEK_A, movements, add_movements(engine, WEEK_A, movements,
                                                       max(movements // 100, 1))),
                "B": (WEEK_B, small, add_movements(engine, WEEK_B, small,
                                                   max(small // 100, 1)))}
    after_bulk_load(engine, ("buyers", "orders", "invoices", "receivables", "movements"))
    total = movements + small + max(movements // 100, 1) + max(small // 100, 1)
    print(f"built {ORDERS:,} orders and {total:,} movements in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    database = url or str(engine.url)
    runs = {}
    for label in "AB":
        week, rows, payout = expected[label]
        progress(f"statement {label}: {rows:,} movements")
        runs[label] = measure_statement(engine, database, home / "out", label, week, rows,
                                        payout)
        show_statement(runs[label])
    plan = runs["A"].plan
    engine.dispose()
    return runs, plan


# -- the import ---------------------------------------------------------------------------

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>{id}</MsgId>
      <CreDtTm>{day}T05:30:00+01:00</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>{id}</Id>
      <ElctrncSeqNb>1</ElctrncSeqNb>
      <CreDtTm>{day}T05:30:00+01:00</CreDtTm>
      <Acct>
        <Id><IBAN>{account}</IBAN></Id>
        <Ccy>EUR</Ccy>
        <Ownr><Nm>invoicekit Treuhand</Nm></Ownr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">0.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>{day}</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">{closing}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>{day}</Dt></Dt>
      </Bal>
      <TxsSummry>
        <TtlCdtNtries><NbOfNtries>{count}</NbOfNtries><Sum>{closing}</Sum></TtlCdtNtries>
      </TxsSummry>
"""
ENTRY = """      <Ntry>
        <NtryRef>{n}</NtryRef>
        <Amt Ccy="EUR">{amount}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt>
        <ValDt><Dt>{day}</Dt></ValDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs>
              <AcctSvcrRef>{ref}-1</AcctSvcrRef>
              <EndToEndId>E2E-{ref}</EndToEndId>
            </Refs>
            <Amt Ccy="EUR">{amount}</Amt>
            <CdtDbtInd>CRDT</CdtDbtInd>
            <RltdPties>
              <Dbtr><Pty><Nm>{payer}</Nm></Pty></Dbtr>
              <DbtrAcct><Id><IBAN>{payer_iban}</IBAN></Id></DbtrAcct>
              <Cdtr><Pty><Nm>invoicekit Treuhand</Nm></Pty></Cdtr>
              <CdtrAcct><Id><IBAN>{iban}</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>{remittance}</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
"""
TAIL = """    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def open_amount(i: int) -> int:
    return gross_of(i) - credited_of(i)


def write_camt(path: Path, engine: Engine, ids: range, label: str) -> None:
    """A camt.053.001.08 statement of one credit transfer per receivable ``ids``, each of
    exactly its open amount to its buyer's virtual IBAN, quoting its payment reference;
    written entry by entry."""
    closing = sum(open_amount(i) for i in ids)
    with session_scope(engine, write=False) as session:
        merchant = session.get(Merchant, MERCHANT_ID)
        first_account = merchant.account_first

        def iban(i: int) -> str:
            return virtual_iban(merchant, first_account + i - 1)

        day = BOOKED_ON.isoformat()
        with path.open("w", encoding="utf-8") as out:
            out.write(HEAD.format(id=f"BENCH-{label}-{day}", day=day, account=ACCOUNT,
                                  closing=euros(closing).replace(",", ""), count=len(ids)))
            write_entries(out, ids, iban, label, day)
            out.write(TAIL)


def write_entries(out: TextIO, ids: range, iban: Callable[[int], str], label: str,
                  day: str) -> None:
    for n, i in enumerate(ids, 1):
        out.write(ENTRY.format(
            n=n, amount=euros(open_amount(i)).replace(",", ""), day=day,
            ref=f"{label}{i:09d}", payer=escape(f"Käufer {i} GmbH & Co. KG"),
            payer_iban=PAYER, iban=iban(i), remittance=f"Rechnung INV-{i:07d} BP{i}/3333"))


@dataclass
class Imported:
    """One import of one file."""

    label: str
    transfers: int
    megabytes: float
    seconds: float = 0.0
    cpu: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    settled: int = 0
    paid: int = 0
    expected_paid: int = 0
    credit: int = 0
    expected_outcome: str = "booked"
    stored: int = 0
    expected_stored: int = 0

    @property
    def per_second(self) -> float:
        return self.transfers / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> list[str]:
        out = []
        if self.outcomes != {self.expected_outcome: self.transfers}:
            out.append(f"outcomes {self.outcomes}, expected {self.transfers} "
                       f"{self.expected_outcome}")
        if self.settled != self.transfers or self.paid != self.expected_paid or self.credit:
            out.append(f"{self.settled} receivables settled with {euros(self.paid)} paid, "
                       f"buyer credit {euros(self.credit)}; expected {self.transfers} "
                       f"settled with {euros(self.expected_paid)} paid, no credit")
        if self.stored != self.expected_stored:
            out.append(f"{self.stored} bank transactions stored, expected "
                       f"{self.expected_stored}")
        return out


def measure_import(engine: Engine, path: Path, label: str, ids: range, outcome: str,
                   stored: int) -> Imported:
    """Import ``path``, timed; then count what the receivables ``ids`` have paid, and the
    bank transactions stored (``stored`` expected)."""
    result = Imported(label, len(ids), path.stat().st_size / 1e6, expected_outcome=outcome,
                      expected_stored=stored)
    seen = [0]

    def advanced(size: int) -> None:
        seen[0] += size
        if seen[0] % 20_000 < size:
            progress(f"  {seen[0]:,} of {len(ids):,} transactions")

    started, cpu = time.perf_counter(), time.process_time()
    summary = import_file(engine, path, progress=advanced)
    result.seconds = time.perf_counter() - started
    result.cpu = time.process_time() - cpu
    result.outcomes = dict(summary.outcomes)
    result.expected_paid = sum(open_amount(i) for i in ids)
    with session_scope(engine, write=False) as session:
        in_range = Receivable.id.between(ids.start, ids.stop - 1)
        result.settled = session.scalar(select(func.count()).select_from(Receivable).where(
            in_range, Receivable.status == "settled", Receivable.paid + Receivable.credited
            == Receivable.gross)) or 0
        result.paid = int(session.scalar(select(func.sum(Payment.amount)).where(
            Payment.receivable_id.between(ids.start, ids.stop - 1))) or 0)
        result.credit = int(session.scalar(select(func.sum(Buyer.credit))) or 0)
        result.stored = session.scalar(
            select(func.count()).select_from(BankTransactionRecord)) or 0
    return result


def show_import(m: Imported) -> None:
    what = "duplicates" if m.expected_outcome == "duplicate" else "transfers"
    print(f"import {m.label}: {m.transfers:,} {what} ({m.megabytes:.1f} MB camt.053): "
          f"{m.seconds:.2f} s ({m.per_second:,.0f} transactions/s, "
          f"{1000 * m.seconds / m.transfers:.2f} ms each, CPU {m.cpu:.2f} s)")
    print(f"    outcomes: {m.outcomes}; receivables settled: {m.settled:,}; paid "
          f"{euros(m.paid)} EUR (expected {euros(m.expected_paid)}); buyer credit "
          f"{euros(m.credit)}")
    for failure in m.failures:
        print(f"    CHECK FAILED: {failure}")


def read_payable(engine: Engine, buyer_ids: list[int]) -> tuple[float, list[str]]:
    """The read of a buyer's open receivables alone, as booking a transfer does it
    (``payable``), once for each of ``buyer_ids``, each in its own transaction: the mean
    seconds, and the plan of the query (for the first buyer's parameters; psycopg prepares
    a statement run five times on a connection, and PostgreSQL may then plan it for any
    parameters)."""
    with Capture(engine, "FROM receivables") as capture:
        started = time.perf_counter()
        for buyer_id in buyer_ids:
            with session_scope(engine, write=False) as session:
                payable(Ledger(session), buyer_id=buyer_id, first_order_ids=(buyer_id,))
        seconds = (time.perf_counter() - started) / len(buyer_ids)
    return seconds, explain(engine, *capture.sent) if capture.sent else ["(no query seen)"]


def bench_imports(url: str | None, folder: Path, transactions: int,
                  ) -> tuple[dict[str, Imported], float, list[str]]:
    """A ledger with receivables for B and A; B, A and A again imported; the mean seconds
    and the plan of the read of a buyer's open receivables."""
    home = folder / "imports"
    small = transactions // 10
    ids_b, ids_a = range(1, small + 1), range(small + 1, small + transactions + 1)
    started = time.perf_counter()
    engine = new_ledger(url, home, MERCHANT_ID, accounts=10_000_000)
    populate(engine, small + transactions)
    after_bulk_load(engine, ("buyers", "orders", "invoices", "receivables"))
    print(f"built {small + transactions:,} buyers, orders, invoices and open receivables in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    files = {"B": home / "camt053-B.xml", "A": home / "camt053-A.xml"}
    started = time.perf_counter()
    write_camt(files["B"], engine, ids_b, "B")
    write_camt(files["A"], engine, ids_a, "A")
    print(f"wrote the camt.053 files in {time.perf_counter() - started:.1f} s (not "
          "measured)", flush=True)
    read, plan = read_payable(engine, [ids_a[k * len(ids_a) // 50] for k in range(50)])
    runs = {}
    for label, ids, outcome, stored in (
            ("B", ids_b, "booked", small), ("A", ids_a, "booked", small + transactions),
            ("A again", ids_a, "duplicate", small + transactions)):
        progress(f"import {label}: {len(ids):,} transfers")
        runs[label] = measure_import(engine, files[label[0]], label, ids, outcome, stored)
        show_import(runs[label])
        analyze(engine)
    engine.dispose()
    return runs, read, plan


def warm_up(folder: Path) -> None:
    """One import on a tiny SQLite ledger, so that the first measurement does not pay for
    what a process does once (imports, caches)."""
    home = folder / "warm-up"
    engine = new_ledger(None, home, MERCHANT_ID)
    populate(engine, 20)
    write_camt(home / "camt053.xml", engine, range(1, 21), "W")
    import_file(engine, home / "camt053.xml")
    engine.dispose()


# -- the run ------------------------------------------------------------------------------

@dataclass
class BackendRun:
    name: str
    statements: dict[str, Built]
    imports: dict[str, Imported] = field(default_factory=dict)
    read_payable: float = 0.0  # seconds

    @property
    def ok(self) -> bool:
        return not any(m.failures for m in [*self.statements.values(),
                                            *self.imports.values()])

    @property
    def statement_ratio(self) -> float:
        return self.statements["A"].seconds / self.statements["B"].seconds

    @property
    def memory_ratio(self) -> float:
        """A's memory growth over B's (each at least 0.1 MB, against noise near zero)."""
        return (max(self.statements["A"].growth_mb, 0.1)
                / max(self.statements["B"].growth_mb, 0.1))

    @property
    def import_ratio(self) -> float:
        return self.imports["A"].seconds / self.imports["B"].seconds


def show_plan(title: str, plan: list[str]) -> None:
    print(f"    plan of {title}:")
    for line in plan:
        print(f"        {line}")


def bench_backend(name: str, url: str | None, folder: Path, movements: int,
                  transactions: int) -> BackendRun:
    print(f"\n== statements and imports, {name}", flush=True)
    progress(f"{name}: building the statement ledger, {movements:,} movements in A")
    statements, plan = bench_statements(url, folder / name, movements)
    run = BackendRun(name, statements)
    print(f"statement A/B (ten times the movements): time {run.statement_ratio:.2f} "
          f"(expected ~10), memory growth {run.memory_ratio:.2f} (expected ~1: flat)")
    show_plan("the statement's read" + (
        "" if url is None else " (EXPLAIN of its SELECT; read through a cursor, PostgreSQL "
        "plans it for the first rows)"), plan)
    progress(f"{name}: building the import ledger, {transactions:,} transfers in A")
    run.imports, run.read_payable, plan = bench_imports(url, folder / name, transactions)
    print(f"import A/B (ten times the transfers): time {run.import_ratio:.2f} "
          f"(expected ~10)")
    print(f"read of a buyer's open receivables alone (as booking a transfer reads them), "
          f"before the imports, all {transactions + transactions // 10:,} receivables open: "
          f"{1000 * run.read_payable:.2f} ms")
    show_plan("that read", plan)
    return run


def summary(runs: list[BackendRun]) -> None:
    """One table: a row per figure, a column per backend."""
    rows: list[tuple[str, Callable[[BackendRun], float], str]] = []
    for label in "AB":
        rows += [
            (f"statement {label}: movements",
             lambda r, x=label: r.statements[x].expected_rows, ",.0f"),
            (f"statement {label}: s", lambda r, x=label: r.statements[x].seconds, ".2f"),
            (f"statement {label}: rows/s", lambda r, x=label: r.statements[x].per_second,
             ",.0f"),
            (f"statement {label}: peak memory MB",
             lambda r, x=label: r.statements[x].after_kib / MB, ".1f"),
            (f"statement {label}: memory growth MB",
             lambda r, x=label: r.statements[x].growth_mb, ".1f")]
    rows += [("statement A/B time (expected ~10)", lambda r: r.statement_ratio, ".2f"),
             ("statement A/B memory growth (exp. ~1)", lambda r: r.memory_ratio, ".2f")]
    for label in ("A", "B", "A again"):
        rows += [
            (f"import {label}: transactions", lambda r, x=label: r.imports[x].transfers,
             ",.0f"),
            (f"import {label}: s", lambda r, x=label: r.imports[x].seconds, ".2f"),
            (f"import {label}: transactions/s", lambda r, x=label: r.imports[x].per_second,
             ",.0f")]
    rows += [("import A/B time (expected ~10)", lambda r: r.import_ratio, ".2f"),
             ("read of a buyer's open receivables ms", lambda r: 1000 * r.read_payable,
              ".2f")]
    print_figures(runs, rows, "rows, payout, booked, settled", width=42)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movements", type=int, default=1_000_000,
                        help="movements in the week of statement A [default: %(default)s]")
    parser.add_argument("--transactions", type=int, default=100_000,
                        help="credit transfers in the file of import A [default: %(default)s]")
    add_ledger_options(parser, POSTGRESQL, "ledgers, statements and bank files")
    args = parser.parse_args()
    if args.movements < 1000 or args.transactions < 100:
        parser.error("--movements must be at least 1000, --transactions at least 100")
    stop_on_sigterm()
    folder = bench_folder(args)
    print(f"ledgers, statements and bank files: {folder}")
    warm_up(folder)
    backends = [("embedded", None), ("production", args.database_url)]
    runs = [bench_backend(name, url, folder, args.movements, args.transactions)
            for name, url in backends if args.backend in (name, "both")]
    summary(runs)
    if not all(r.ok for r in runs):
        raise SystemExit("a check failed")


if __name__ == "__main__":
    main()
