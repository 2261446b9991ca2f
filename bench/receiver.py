"""Receiver throughput: signed WooCommerce deliveries against a no-op endpoint, same server.

Posts distinct, signed ``order.updated`` deliveries (the exact WooCommerce wire format) from
several threads for a fixed time, then does the same against ``GET /livez`` (no database, no
queue), and prints requests per second and p50/p99 latency of both, with the ratio. Every
delivery counts only if answered 202; afterwards the stored deliveries are counted, so the
figures also check that every 2xx was stored (invariant I1).

Without ``--url`` it starts the whole kit of each backend on a fresh instance, consumers
included (they process the deliveries while the load goes on): embedded, ``invoicekit
serve``; production, gunicorn with two workers and two ``invoicekit worker`` processes.

    python bench/receiver.py --seconds 10 --concurrency 8 --backend both
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from common import (
    Backend,
    Figures,
    Instance,
    Load,
    add_common_options,
    bench_folder,
    chosen_backends,
    deliveries,
    livez,
    progress,
    stop_on_sigterm,
)


@dataclass(frozen=True)
class ReceiverRun:
    """One backend's receiver figures; ``stored`` and ``done`` are ``None`` for ``--url``."""

    backend: str
    url: str
    seconds: float
    concurrency: int
    noop: Figures
    deliveries: Figures
    stored: int | None = None
    done: int | None = None

    @property
    def ratio(self) -> float:
        return self.deliveries.per_second / self.noop.per_second

    @property
    def ok(self) -> bool:
        return self.stored is None or self.stored == self.deliveries.accepted


def load(url: str, seconds: float, concurrency: int) -> tuple[Figures, Figures]:
    """The no-op phase, then the deliveries phase, each for ``seconds``."""
    client = Load(url, concurrency)
    return (client.run(livez, seconds=seconds),
            client.run(deliveries(), seconds=seconds))


def measure(backend: Backend, folder: Path, seconds: float, concurrency: int) -> ReceiverRun:
    """Start the backend's kit on a fresh instance in ``folder``, load it, count what it
    stored (and what its consumers processed meanwhile)."""
    with Instance(backend, folder) as instance:
        progress(f"{backend.name}: receiver, {seconds:.0f} s per endpoint")
        url = instance.receivers(consumers=True)
        noop, posted = load(url, seconds, concurrency)
        statuses = instance.statuses()
    problems = instance.log_problems()
    if problems:
        print(f"{backend.name}: {len(problems)} error lines in the logs in {folder}")
    return ReceiverRun(backend.name, url, seconds, concurrency, noop, posted,
                       stored=sum(statuses.values()), done=statuses["done"])


def report(run: ReceiverRun) -> None:
    path = "POST /webhooks/woocommerce/bench"
    print(f"\n== receiver, {run.backend}: {run.concurrency} connections, "
          f"{run.seconds:.0f} s per endpoint, {run.url}")
    print(f"{'endpoint':<34}{'requests':>9}{'non-2xx':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in (("GET /livez (no-op baseline)", run.noop), (path, run.deliveries)):
        print(f"{name:<34}{r.requests:>9}{r.failed:>9}{r.per_second:>9.0f}"
              f"{r.p50:>9.1f}{r.p99:>9.1f}")
    print(f"deliveries per second as a share of the no-op rate: {run.ratio:.2f}")
    if run.stored is not None:
        print(f"accepted deliveries: {run.deliveries.accepted}, stored: {run.stored}"
              f"{'' if run.ok else '  MISMATCH'}; processed by the consumers meanwhile: "
              f"{run.done}")


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=10, help="per endpoint")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="Load a running server instead (it must have the "
                        "WooCommerce shop bench with the secret bench-secret).")
    add_options(parser)
    add_common_options(parser)
    args = parser.parse_args()
    stop_on_sigterm()
    if args.url:
        noop, posted = load(args.url, args.seconds, args.concurrency)
        report(ReceiverRun("--url", args.url, args.seconds, args.concurrency, noop, posted))
        return
    folder = bench_folder(args)
    runs = [measure(backend, folder / f"{backend.name}-receiver", args.seconds,
                    args.concurrency) for backend in chosen_backends(args)]
    for run in runs:
        report(run)
    print(f"\nlogs and instances: {folder}")
    if not all(run.ok for run in runs):
        raise SystemExit("accepted deliveries were not all stored")


if __name__ == "__main__":
    main()
