"""End-to-end throughput: a backlog of deliveries drained by the consumers (local provider).

For each backend, on a fresh instance: ``--backlog`` distinct signed WooCommerce deliveries,
each a new order in status ``completed``, are posted to the receivers while no consumer runs
(each is stored and queued). Then the consumers start, and the time from the moment the
first one consumes until every delivery is ``done`` gives processed deliveries per second:
each delivery places its order and activates it, which issues an invoice.

Baseline, in the same run: the consumers are started again and the script enqueues one task
for each of those deliveries, which are ``done`` by now, so processing returns right after
reading the status; the time until the queue is empty gives tasks per second (queue, claim
and read). Afterwards every delivery must be ``done`` and there must be one invoice each.

    python bench/pipeline.py --backlog 10000 --backend both
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
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
    progress,
    stop_on_sigterm,
    wait_until,
)


@dataclass(frozen=True)
class DrainRun:
    """One backend's drain figures."""

    backend: str
    backlog: int
    posted: Figures
    drain_seconds: float
    baseline_seconds: float
    enqueue_seconds: float
    statuses: Counter[str]
    invoices: int

    @property
    def processed_per_second(self) -> float:
        return self.backlog / self.drain_seconds

    @property
    def baseline_per_second(self) -> float:
        return self.backlog / self.baseline_seconds

    @property
    def ratio(self) -> float:
        return self.processed_per_second / self.baseline_per_second

    @property
    def ok(self) -> bool:
        return (self.posted.accepted == self.backlog and self.invoices == self.backlog
                and self.statuses == Counter(done=self.backlog))


def drained(instance: Instance, backlog: int) -> bool:
    if not instance.alive():
        raise SystemExit(f"a process of the kit stopped; see the logs in {instance.folder}")
    statuses = instance.statuses()
    return statuses["done"] + statuses["dead"] >= backlog


def measure(backend: Backend, folder: Path, backlog: int, concurrency: int) -> DrainRun:
    """Store the backlog, drain it, then drain as many tasks for done deliveries."""
    with Instance(backend, folder) as instance:
        progress(f"{backend.name}: posting a backlog of {backlog} deliveries")
        url = instance.receivers(consumers=False)
        posted = Load(url, concurrency).run(deliveries("completed"), total=backlog, first=1)
        instance.stop()
        stored = instance.statuses()
        if posted.accepted != backlog or stored != Counter(pending=backlog):
            raise SystemExit(f"{backend.name}: {posted.accepted} of {backlog} deliveries "
                             f"accepted, stored: {dict(stored)}; see {folder}")

        progress(f"{backend.name}: draining the backlog")
        started = instance.consumers("drain-worker")
        wait_until(lambda: drained(instance, backlog), 300 + backlog / 5,
                   f"the backlog to be processed; see {folder}", interval=0.1)
        drain_seconds = time.monotonic() - started
        instance.stop()

        progress(f"{backend.name}: baseline, {backlog} tasks for done deliveries")
        ids = instance.delivery_ids()
        instance.consumers("baseline-worker")
        started = time.monotonic()
        for delivery_id in ids:
            instance.kit.queue.enqueue(delivery_id)
        enqueue_seconds = time.monotonic() - started
        wait_until(lambda: instance.kit.queue.huey.pending_count() == 0, 300 + backlog / 20,
                   f"the baseline tasks to be consumed; see {folder}", interval=0.02)
        baseline_seconds = time.monotonic() - started
        instance.stop()  # SIGTERM: the last tasks finish
        run = DrainRun(backend.name, backlog, posted, drain_seconds, baseline_seconds,
                       enqueue_seconds, instance.statuses(), instance.invoices())
    problems = instance.log_problems()
    if problems:
        print(f"{backend.name}: {len(problems)} error lines in the logs in {folder}, e.g. "
              f"{problems[0]}")
    return run


def report(run: DrainRun) -> None:
    posted = run.posted
    print(f"\n== drain, {run.backend}: backlog of {run.backlog} deliveries")
    print(f"backlog posted to receivers without consumers: {posted.accepted} accepted in "
          f"{posted.seconds:.1f} s ({posted.per_second:.0f}/s, p50 {posted.p50:.1f} ms, "
          f"p99 {posted.p99:.1f} ms)")
    print(f"processed (placed, activated, invoiced): {run.drain_seconds:.1f} s, "
          f"{run.processed_per_second:.0f} deliveries/s")
    print(f"baseline (tasks for done deliveries): {run.baseline_seconds:.1f} s "
          f"(enqueued in {run.enqueue_seconds:.1f} s), {run.baseline_per_second:.0f} tasks/s")
    print(f"processed as a share of the baseline rate: {run.ratio:.3f}")
    print(f"deliveries: {dict(run.statuses)}, invoices: {run.invoices}"
          f"{'' if run.ok else '  CHECK FAILED'}")


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backlog", type=int, default=10_000, help="deliveries to drain")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    add_common_options(parser)
    args = parser.parse_args()
    stop_on_sigterm()
    folder = bench_folder(args)
    runs = [measure(backend, folder / f"{backend.name}-drain", args.backlog, args.concurrency)
            for backend in chosen_backends(args)]
    for run in runs:
        report(run)
    print(f"\nlogs and instances: {folder}")
    if not all(run.ok for run in runs):
        raise SystemExit("a check failed")


if __name__ == "__main__":
    main()
