"""Both benchmarks on both backends in one run, with a summary table of figures and ratios.

For each backend (embedded: SQLite + SQLite queue; production: PostgreSQL + Redis, gunicorn
and two workers), on fresh instances: the receiver benchmark (``receiver.py``: accepted
deliveries per second against ``GET /livez`` on the same server) and the drain benchmark
(``pipeline.py``: a backlog of deliveries processed end to end against tasks for deliveries
already done). Exits non-zero if a check fails (a 2xx not stored, a delivery not done, an
invoice missing).

    python bench/run.py --seconds 10 --backlog 10000
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pipeline
import receiver
from common import add_common_options, bench_folder, chosen_backends, stop_on_sigterm


def summary(runs: dict[str, tuple[receiver.ReceiverRun, pipeline.DrainRun]]) -> None:
    """One table: a row per figure, a column per backend, and production/embedded."""
    rows: list[tuple[str, Callable[[receiver.ReceiverRun, pipeline.DrainRun], float], str]] = [
        ("receiver: GET /livez req/s", lambda r, d: r.noop.per_second, ".0f"),
        ("receiver: deliveries accepted/s", lambda r, d: r.deliveries.per_second, ".0f"),
        ("receiver: deliveries p50 ms", lambda r, d: r.deliveries.p50, ".1f"),
        ("receiver: deliveries p99 ms", lambda r, d: r.deliveries.p99, ".1f"),
        ("receiver: deliveries / livez", lambda r, d: r.ratio, ".3f"),
        ("drain: backlog accepted/s (no consumer)", lambda r, d: d.posted.per_second, ".0f"),
        ("drain: processed deliveries/s", lambda r, d: d.processed_per_second, ".0f"),
        ("drain: baseline tasks/s", lambda r, d: d.baseline_per_second, ".0f"),
        ("drain: processed / baseline", lambda r, d: d.ratio, ".3f"),
        ("drain: 2 consumer processes / 1", lambda r, d: d.scaling or 0.0, ".2f"),
    ]
    names = list(runs)
    both = names == ["embedded", "production"]
    header = f"{'':<40}" + "".join(f"{name:>12}" for name in names)
    print("\n== summary\n" + header + (f"{'prod/emb':>10}" if both else ""))
    for label, figure, spec in rows:
        values = [figure(*runs[name]) for name in names]
        line = f"{label:<40}" + "".join(f"{value:>12{spec}}" for value in values)
        if both:
            line += f"{values[1] / values[0]:>10.2f}" if values[0] else f"{'-':>10}"
        print(line)
    checks = ["ok" if r.ok and d.ok else "FAILED" for r, d in runs.values()]
    print(f"{'checks (stored, done, invoices)':<40}" + "".join(f"{c:>12}" for c in checks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    receiver.add_options(parser)
    pipeline.add_options(parser)
    add_common_options(parser)
    args = parser.parse_args()
    stop_on_sigterm()
    folder = bench_folder(args)
    print(f"logs and instances: {folder}")
    runs = {}
    for backend in chosen_backends(args):
        run = receiver.measure(backend, folder / f"{backend.name}-receiver", args.seconds,
                               args.concurrency)
        receiver.report(run)
        drain = pipeline.measure(backend, folder / f"{backend.name}-drain", args.backlog,
                                 args.concurrency, args.merchants)
        pipeline.report(drain)
        runs[backend.name] = (run, drain)
    summary(runs)
    if not all(r.ok and d.ok for r, d in runs.values()):
        raise SystemExit("a check failed")


if __name__ == "__main__":
    main()
