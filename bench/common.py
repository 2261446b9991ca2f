"""What the benchmarks share: signed WooCommerce deliveries, the HTTP load generator, and the
two backends, each as a fresh instance whose kit processes the benchmarks start and stop.

- **embedded**: SQLite ledger and SQLite queue in a new instance folder; ``invoicekit serve``
  (receiver and consumer in one process), or waitress without a consumer, and one
  ``invoicekit worker`` (the SQLite queue has one consumer process).
- **production**: PostgreSQL ledger and Redis queue (both emptied first); gunicorn with two
  workers serving ``webhooks:create_app()``, and two ``invoicekit worker`` processes.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from stdnum.iso7064 import mod_11_10

from core.config import Settings
from core.kit import Kit
from core.ledger.db import make_engine, session_scope, upgrade
from core.ledger.models import Base, Delivery, Invoice
from core.ledger.store import Ledger
from core.money import net_of
from core.schemas import dump_snapshot, load_snapshot

TEMPLATE = json.loads((Path(__file__).with_name("woocommerce-order.json")).read_text())
SECRET = "bench-secret"
SHOP = "bench"
POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/invoicekit_bench"
REDIS = "redis://127.0.0.1:6379/14"

# method, path, body, headers, expected status
Request = tuple[str, str, bytes | None, dict[str, str], int]


BUYERS = 1000  # the orders' buyers: each within its credit limit for a 10,000-order run


def buyer_vat_id(n: int) -> str:
    """The German VAT ID of bench buyer ``n`` (of ``BUYERS``), with its check digit."""
    body = f"{10_000_000 + n % BUYERS:08d}"
    return f"DE{body}{mod_11_10.calc_check_digit(body)}"


def woo_body(order_id: int, status: str = "processing") -> bytes:
    """A WooCommerce order as the shop sends it (PHP-style JSON), for ``order_id``, of one
    of ``BUYERS`` buyers."""
    data = copy.deepcopy(TEMPLATE)
    data["id"], data["number"], data["status"] = order_id, str(order_id), status
    data["billing"]["company"] = f"Bench Buyer {order_id % BUYERS} GmbH"
    data["meta_data"][0]["value"] = buyer_vat_id(order_id)
    data["date_modified_gmt"] = "2026-11-02T09:15:00"
    return json.dumps(data, separators=(",", ":")).replace("/", "\\/").encode()


def woo_headers(body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return {"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "updated",
            "X-WC-Webhook-Signature": base64.b64encode(digest).decode(),
            "X-WC-Webhook-ID": "1", "User-Agent": "WooCommerce/10.5.2 Hookshot"}


def livez(_n: int) -> Request:
    """The no-op request: answered without database or queue."""
    return "GET", "/livez", None, {}, 200


def shop_names(merchants: int) -> list[str]:
    """The bench's shops, one per merchant: ``bench``, ``bench-2``, …"""
    return [SHOP] + [f"{SHOP}-{k}" for k in range(2, merchants + 1)]


def deliveries(status: str = "processing", shops: int = 1) -> Callable[[int], Request]:
    """Request number ``n``: a signed ``order.updated`` delivery for the new order ``n``, of
    the shop ``n`` mod ``shops`` (each shop a merchant of its own)."""
    paths = [f"/webhooks/woocommerce/{shop}" for shop in shop_names(shops)]

    def request(n: int) -> Request:
        body = woo_body(n, status)
        return "POST", paths[n % len(paths)], body, woo_headers(body), 202

    return request


@dataclass(frozen=True)
class Figures:
    """One load phase: requests sent, those without the expected answer, and latencies."""

    requests: int
    failed: int
    seconds: float
    p50: float
    p99: float

    @property
    def accepted(self) -> int:
        return self.requests - self.failed

    @property
    def per_second(self) -> float:
        return self.accepted / self.seconds


class Load:
    """``concurrency`` client threads, each with its own keep-alive connection."""

    def __init__(self, base: str, concurrency: int) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.concurrency = concurrency

    def run(self, make_request: Callable[[int], Request], *, seconds: float | None = None,
            total: int | None = None, first: int = 10**6) -> Figures:
        """Send requests ``first``, ``first + 1``, … for ``seconds``, or ``total`` of them."""
        counter = iter(range(first, first + total if total is not None else 10**12))
        deadline = time.monotonic() + seconds if seconds is not None else float("inf")
        lock = threading.Lock()
        latencies: list[float] = []
        failures = [0]

        def worker() -> None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            mine: list[float] = []
            failed = 0
            while time.monotonic() < deadline:
                with lock:
                    n = next(counter, None)
                if n is None:
                    break
                method, path, body, headers, expected = make_request(n)
                started = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == expected
                except OSError:
                    ok = False
                    conn.close()
                mine.append((time.perf_counter() - started) * 1000)
                failed += not ok
            conn.close()
            with lock:
                latencies.extend(mine)
                failures[0] += failed

        started = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(self.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        ordered = sorted(latencies)
        return Figures(requests=len(ordered), failed=failures[0], seconds=elapsed,
                       p50=statistics.median(ordered) if ordered else 0.0,
                       p99=ordered[max(int(len(ordered) * 0.99) - 1, 0)] if ordered else 0.0)


def progress(message: str) -> None:
    """A line on standard error while a long run goes on."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def stop_on_sigterm() -> None:
    """Make SIGTERM leave ``with`` blocks, so that an ``Instance`` stops its processes."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def ready(port: int) -> bool:
    """Whether the receiver on ``port`` answers ``/readyz`` with 200."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False


@dataclass(frozen=True)
class Backend:
    """Where the ledger and the queue live; ``None``: SQLite files in the instance folder."""

    name: str
    database_url: str | None = None
    queue_url: str | None = None

    @property
    def consumers(self) -> int:
        """Consumer processes: one on the SQLite queue (its hold on a delivery is kept in
        the process), two on PostgreSQL and Redis."""
        return 1 if self.database_url is None else 2


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark script has: client connections and backends."""
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--backend", choices=("embedded", "production", "both"),
                        default="both")
    parser.add_argument("--database-url", default=POSTGRESQL,
                        help="PostgreSQL of the production backend; its tables are dropped "
                             "(the database is created if missing) [default: %(default)s]")
    parser.add_argument("--queue-url", default=REDIS,
                        help="Redis of the production backend; the kit's queue in it is "
                             "flushed [default: %(default)s]")
    parser.add_argument("--folder", type=Path,
                        help="Where instance folders and process logs go [default: a new "
                             "/tmp/invoicekit-bench-… folder, left in place]")


def open_at_19(gross: int) -> list[list[str | int]]:
    """An order's ``open_by_rate`` column for ``gross`` minor units at 19 % VAT."""
    net = net_of(gross, Decimal(19))
    return [["19", gross, net, gross - net]]


def add_ledger_options(parser: argparse.ArgumentParser, database_url: str,
                       folder_holds: str) -> None:
    """The options of the benchmarks that build their ledger directly (no kit processes):
    backends, the PostgreSQL of the production one, and the folder."""
    parser.add_argument("--backend", choices=("embedded", "production", "both"),
                        default="both")
    parser.add_argument("--database-url", default=database_url,
                        help="PostgreSQL of the production backend; its tables are dropped "
                             "(the database is created if missing) [default: %(default)s]")
    parser.add_argument("--folder", type=Path,
                        help=f"Where {folder_holds} go [default: a new "
                             "/tmp/invoicekit-bench-… folder, left in place]")


def print_figures(runs: Sequence[Any], rows: Sequence[tuple[str, Callable[[Any], float], str]],
                  checks: str, width: int = 42) -> None:
    """The summary: a row per figure (label, how to read it from a run, format), a column
    per backend run (``name``), and whether each run's checks (``ok``) passed."""
    print("\n== summary\n" + f"{'':<{width}}" + "".join(f"{r.name:>12}" for r in runs))
    for label, figure, spec in rows:
        print(f"{label:<{width}}" + "".join(f"{figure(r):>12{spec}}" for r in runs))
    print(f"{'checks (' + checks + ')':<{width}}"
          + "".join(f"{'ok' if r.ok else 'FAILED':>12}" for r in runs))


def chosen_backends(args: argparse.Namespace) -> list[Backend]:
    backends = []
    if args.backend in ("embedded", "both"):
        backends.append(Backend("embedded"))
    if args.backend in ("production", "both"):
        backends.append(Backend("production", args.database_url, args.queue_url))
    return backends


def bench_folder(args: argparse.Namespace) -> Path:
    if args.folder is not None:
        args.folder.mkdir(parents=True, exist_ok=True)
        return args.folder.resolve()
    import tempfile

    return Path(tempfile.mkdtemp(prefix="invoicekit-bench-"))


def reset_postgresql(url: str) -> None:
    """Drop the kit's tables in the database, creating the database if it is missing."""
    engine = make_engine(url)
    try:
        engine.connect().close()
    except OperationalError:
        parts = make_url(url)
        admin = create_engine(parts.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{parts.database}"')
        admin.dispose()
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def order_snapshot() -> dict[str, Any]:
    """One order as the ledger stores it (``dump_snapshot``), for bulk-inserted orders."""
    data = {
        "shop": "bench", "order_id": "1001", "order_number": "1001", "currency": "EUR",
        "buyer": {"company": "Muster Bürobedarf", "legal_form": "GmbH",
                  "vat_id": "DE136695976", "first_name": "Erika", "last_name": "Muster",
                  "email": "einkauf@muster.example", "street": "Hauptstraße 5",
                  "postcode": "10115", "city": "Berlin", "country": "DE"},
        "lines": [{"line_id": "1", "kind": "product", "name": "Standing desk", "quantity": 1,
                   "sku": "SKU-1", "net": "1000.00", "tax": "190.00", "gross": "1190.00",
                   "tax_rate": "19"}],
        "total": "1190.00", "total_tax": "190.00", "status": "completed",
        "ordering_key": "2026-04-29T09:00:00+00:00", "discounts": [], "refunds": [],
    }
    return dump_snapshot(load_snapshot(data))


def new_ledger(url: str | None, folder: Path, merchant_id: int = 3333,
               accounts: int = 10_000) -> Engine:
    """An empty, migrated ledger (PostgreSQL at ``url``, its tables dropped first, or a new
    SQLite file in ``folder``, which is created) with the merchant, whose buyers' virtual
    IBANs come from ``accounts`` accounts from 4,000,000,000 on at bank 10020030, and its
    WooCommerce shop ``bench``."""
    folder.mkdir(parents=True)
    if url is not None:
        reset_postgresql(url)
    engine = make_engine(url or f"sqlite:///{folder / 'invoicekit.db'}")
    upgrade(engine)
    with session_scope(engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(
            id=merchant_id, name="Bench GmbH", country="DE",
            account_holder="invoicekit Treuhand", bank_code="10020030", bic="ABCDDEFFXXX",
            account_first=4_000_000_000, account_last=4_000_000_000 + accounts - 1,
            kyc_verified=True)
        ledger.add_connection(name=SHOP, merchant_id=merchant_id, platform="woocommerce")
    return engine


class Instance:
    """A fresh instance of ``backend`` in ``folder``: an empty, migrated ledger and an empty
    queue, merchant 3333 with the WooCommerce shop ``bench`` (and with ``merchants`` > 1,
    merchants 3334… with the shops ``bench-2``…). Starts the kit's processes (logs in
    ``folder``) and stops them on leaving the ``with`` block."""

    def __init__(self, backend: Backend, folder: Path, merchants: int = 1) -> None:
        self.backend, self.folder, self.merchants = backend, folder, merchants
        folder.mkdir(parents=True)
        home = folder / "instance"
        self.database_url = backend.database_url or f"sqlite:///{home / 'invoicekit.db'}"
        self.queue_url = backend.queue_url or f"sqlite:///{home / 'queue.db'}"
        self.env = {**os.environ, "INVOICEKIT_HOME": str(home),
                    "INVOICEKIT_DATABASE_URL": self.database_url,
                    "INVOICEKIT_QUEUE_URL": self.queue_url}
        self.running: list[subprocess.Popen] = []
        if backend.database_url is not None:
            reset_postgresql(self.database_url)
        self.cli("db", "upgrade")
        for number, shop in enumerate(shop_names(merchants)):
            merchant = str(3333 + number)
            self.cli("merchants", "add", merchant, "--name", f"Bench {number + 1} GmbH",
                     "--kyc-verified")
            self.cli("shops", "add", "woocommerce", shop, "--merchant", merchant,
                     "--secret", SECRET)
        self.kit = Kit.create(Settings(home=home, database_url=self.database_url,
                                       queue_url=self.queue_url))
        self.kit.queue.huey.flush()

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
        self.kit.engine.dispose()

    def cli(self, *args: str) -> str:
        """Run an ``invoicekit`` command on the instance; what it printed."""
        result = subprocess.run([sys.executable, "-m", "webhooks.cli", *args], env=self.env,
                                capture_output=True, text=True, timeout=120)
        if result.returncode:
            raise SystemExit(f"invoicekit {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def start(self, name: str, *args: str) -> Path:
        """Start ``python -m ARGS``, its output in ``name.log``; the log's path."""
        log = self.folder / f"{name}.log"
        with log.open("ab") as out:
            self.running.append(subprocess.Popen([sys.executable, "-m", *args], env=self.env,
                                                 stdout=out, stderr=subprocess.STDOUT))
        return log

    def receivers(self, *, consumers: bool) -> str:
        """Start the receivers, with the consumers or without; their URL once ready.

        Embedded with consumers: ``invoicekit serve``; without: waitress with as many
        threads, serving the same app. Production: gunicorn with two workers, and the
        consumer processes if asked.
        """
        port = free_port()
        if self.backend.database_url is None and consumers:
            self.start("serve", "webhooks.cli", "serve", "--port", str(port))
        elif self.backend.database_url is None:
            self.start("waitress", "waitress", "--host=127.0.0.1", f"--port={port}",
                       "--threads=8", "--call", "webhooks:create_app")
        else:
            self.start("gunicorn", "gunicorn", "--workers", "2", "--threads", "8", "--bind",
                       f"127.0.0.1:{port}", "webhooks:create_app()")
            if consumers:
                self.consumers("worker")
        wait_until(lambda: ready(port), 60, f"the receiver; see {self.folder}")
        return f"http://127.0.0.1:{port}"

    def consumers(self, name: str, count: int | None = None) -> float:
        """Start the consumer processes (``count``, default the backend's) one after the
        other, each once the one before has rebuilt the queue from the ledger (two
        rebuilding at once would queue every pending delivery twice); the time
        (``time.monotonic()``) the first one started consuming."""
        first = None
        for n in range(1, (count or self.backend.consumers) + 1):
            log = self.start(f"{name}-{n}", "webhooks.cli", "worker")
            wait_until(lambda log=log: b"queued again" in log.read_bytes(), 120,
                       f"{log} to start", interval=0.01)
            first = first or time.monotonic()
        assert first is not None
        return first

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.running)

    def stop(self) -> None:
        """Stop every process started (SIGTERM: consumers finish their running tasks)."""
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()

    def statuses(self) -> Counter[str]:
        """The stored deliveries by status."""
        with session_scope(self.kit.engine, write=False) as session:
            return Counter(dict(session.execute(select(Delivery.status, func.count())
                                                .group_by(Delivery.status)).all()))

    def delivery_ids(self) -> list[int]:
        with session_scope(self.kit.engine, write=False) as session:
            return list(session.scalars(select(Delivery.id).order_by(Delivery.id)))

    def invoices(self) -> int:
        with session_scope(self.kit.engine, write=False) as session:
            return session.scalar(select(func.count()).select_from(Invoice)
                                  .where(Invoice.kind == "invoice")) or 0

    def log_problems(self) -> list[str]:
        """Lines of the process logs that report an error or a traceback."""
        return [f"{log.name}: {line.strip()}" for log in sorted(self.folder.glob("*.log"))
                for line in log.read_text(errors="replace").splitlines()
                if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")]
