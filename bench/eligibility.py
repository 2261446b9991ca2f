"""Eligibility API latency: ``POST /api/v1/eligibility`` against ``GET /livez``, same server.

The instance first gets a history: ``--history`` orders placed, invoiced and half of them
paid, spread over ``--buyers`` buyers, so that the decision reads a real payment record and
exposure. Then, from ``--concurrency`` client threads for ``--seconds`` each: ``GET /livez``
(no database), then eligibility requests of buyers with a history (approved), then of new
buyers. Prints requests per second, p50 and p99 latency of each and the ratios to
``/livez``. The check: every eligibility request answered 200 and the p99 under 200 ms.

    python bench/eligibility.py --seconds 10 --concurrency 4 --backend both
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from common import (
    Figures,
    Instance,
    Load,
    add_common_options,
    bench_folder,
    chosen_backends,
    livez,
    print_figures,
    progress,
    stop_on_sigterm,
)

from core.execute import process_snapshot
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.receivables.book import record_payment
from core.schemas import load_snapshot

LIMIT_MS = 200.0


def buyer(n: int) -> dict[str, str]:
    """Buyer ``n``: a company known by name, postcode and country (no VAT ID)."""
    return {"company": f"Bench Buyer {n}", "legal_form": "GmbH", "street": "Hauptstraße 5",
            "postcode": f"{10115 + n % 80000:05d}", "city": "Berlin", "country": "DE"}


def seed(instance: Instance, orders: int, buyers: int) -> None:
    """``orders`` orders of ``buyers`` buyers, placed and invoiced; every second one paid."""
    placed = datetime(2026, 11, 2, 9, tzinfo=UTC)
    for n in range(orders):
        data = {
            "shop": "bench", "order_id": str(n), "order_number": str(n), "currency": "EUR",
            "buyer": {**buyer(n % buyers), "vat_id": None, "first_name": None,
                      "last_name": None, "email": "buy@bench.example"},
            "lines": [{"line_id": "1", "kind": "product", "name": "Desk", "quantity": 1,
                       "sku": "DESK", "net": "100.00", "tax": "19.00", "gross": "119.00",
                       "tax_rate": "19"}],
            "total": "119.00", "total_tax": "19.00", "status": "completed",
            "ordering_key": (placed + timedelta(seconds=n)).isoformat(),
            "discounts": [], "refunds": []}
        process_snapshot(instance.kit.engine, instance.kit.hooks, load_snapshot(data))
        if n % 2:
            with session_scope(instance.kit.engine) as session:
                ledger = Ledger(session)
                record_payment(ledger, ledger.find_order("bench", str(n)), 119_00,
                               booked_on=datetime.now(UTC).date(), reference=None,
                               source="bench", key=f"bench-{n}")


def asking(key: str, buyers: int, *, new: bool):
    """Request ``n``: an eligibility question for a cart of 1,190.00 EUR."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def request(n: int):
        who = buyer(buyers + n if new else n % buyers)
        body = json.dumps({"amount": "1190.00", "currency": "EUR", "buyer": who,
                           "lines": [{"sku": "DESK"}]}).encode()
        return "POST", "/api/v1/eligibility", body, headers, 200

    return request


@dataclass(frozen=True)
class EligibilityRun:
    name: str
    noop: Figures
    known: Figures
    new: Figures

    limit_ms: float = LIMIT_MS

    @property
    def ok(self) -> bool:
        return all(f.failed == 0 and f.p99 < self.limit_ms for f in (self.known, self.new))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser)
    parser.set_defaults(concurrency=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--history", type=int, default=2000, help="orders placed before")
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--limit-ms", type=float, default=LIMIT_MS,
                        help="the p99 the check asks for (the tests' tiny run on a busy "
                             "machine checks only that every answer is 200)")
    args = parser.parse_args()
    stop_on_sigterm()
    folder = bench_folder(args)
    runs = []
    for backend in chosen_backends(args):
        with Instance(backend, folder / backend.name) as instance:
            with (instance.folder / "instance" / "invoicekit.toml").open("a") as config:
                config.write("\n[office]\napi_per_minute = 0  # measure the decision, unlimited\n")
            instance.cli("risk", "policy", "--initial-limit", "100000.00")
            created = instance.cli("apikeys", "create", "--merchant", "3333")
            key = re.search(r"^(ik_\S+)$", created, re.MULTILINE).group(1)
            progress(f"{backend.name}: placing and invoicing {args.history} orders")
            seed(instance, args.history, args.buyers)
            base = instance.receivers(consumers=False)
            load = Load(base, args.concurrency)
            progress(f"{backend.name}: GET /livez for {args.seconds:.0f} s")
            noop = load.run(livez, seconds=args.seconds)
            progress(f"{backend.name}: buyers with a history for {args.seconds:.0f} s")
            known = load.run(asking(key, args.buyers, new=False), seconds=args.seconds)
            progress(f"{backend.name}: new buyers for {args.seconds:.0f} s")
            new = load.run(asking(key, args.buyers, new=True), seconds=args.seconds)
            runs.append(EligibilityRun(backend.name, noop, known, new, args.limit_ms))
    print_figures(runs, [
        ("GET /livez req/s", lambda r: r.noop.per_second, ".0f"),
        ("GET /livez p99 ms", lambda r: r.noop.p99, ".1f"),
        ("eligibility, known buyer req/s", lambda r: r.known.per_second, ".0f"),
        ("eligibility, known buyer p50 ms", lambda r: r.known.p50, ".1f"),
        ("eligibility, known buyer p99 ms", lambda r: r.known.p99, ".1f"),
        ("eligibility, new buyer p50 ms", lambda r: r.new.p50, ".1f"),
        ("eligibility, new buyer p99 ms", lambda r: r.new.p99, ".1f"),
        ("known buyer req/s / livez req/s", lambda r: r.known.per_second / r.noop.per_second,
         ".3f"),
        ("known buyer p50 / livez p50", lambda r: r.known.p50 / r.noop.p50, ".1f"),
    ], f"all 200, p99 < {args.limit_ms:.0f} ms")
    raise SystemExit(0 if all(r.ok for r in runs) else 1)


if __name__ == "__main__":
    main()
