"""End-to-end throughput: a backlog of deliveries drained by the consumers (local provider).

For each backend, on a fresh instance: ``--backlog`` distinct signed WooCommerce deliveries,
each a new order in status ``completed``, are posted to the receivers while no consumer runs
(each is stored and queued). Then the consumers start, and the time from the moment the
first one consumes until every delivery is ``done`` gives processed deliveries per second:
each delivery places its order and activates it, which issues an invoice.

With several consumer processes (production: two), a first backlog of the same size is
drained by one of them before, on the same instance: the ratio of the two rates shows how
processing scales with processes (the second backlog meets a ledger twice as full).

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
    single_seconds: float | None = None  # the first backlog, drained by one consumer

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
    def scaling(self) -> float | None:
        """Processed per second with the backend's consumers against one consumer."""
        return None if self.single_seconds is None else self.single_seconds / self.drain_seconds

    @property
    def ok(self) -> bool:
        total = self.backlog * (1 if self.single_seconds is None else 2)
        return (self.posted.accepted == self.backlog and self.invoices == total
                and self.statuses == Counter(done=total))


def drained(instance: Instance, backlog: int) -> bool:
    if not instance.alive():
        raise SystemExit(f"a process of the kit stopped; see the logs in {instance.folder}")
    statuses = instance.statuses()
    return statuses["done"] + statuses["dead"] >= backlog


def measure(backend: Backend, folder: Path, backlog: int, concurrency: int,
            merchants: int = 1) -> DrainRun:
    """Store the backlog, drain it, then drain as many tasks for done deliveries."""
    with Instance(backend, folder, merchants) as instance:
        single_seconds = None
        if backend.consumers > 1:
            single_seconds = drain(instance, backlog, concurrency, first=backlog + 1,
                                   consumers=1)[1]
        posted, drain_seconds = drain(instance, backlog, concurrency, first=1)
        progress(f"{backend.name}: baseline, {backlog} tasks for done deliveries")
        ids = instance.delivery_ids()[-backlog:]
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
                       enqueue_seconds, instance.statuses(), instance.invoices(),
                       single_seconds)
    problems = instance.log_problems()
    if problems:
        print(f"{backend.name}: {len(problems)} error lines in the logs in {folder}, e.g. "
              f"{problems[0]}")
    return run


def drain(instance: Instance, backlog: int, concurrency: int, first: int,
          consumers: int | None = None) -> tuple[Figures, float]:
    """Post ``backlog`` deliveries (orders ``first``…) to receivers without consumers, then
    start the consumers (``consumers``, default the backend's): the posting's figures and
    the seconds until every delivery is processed."""
    name, folder = instance.backend.name, instance.folder
    before = instance.statuses()
    progress(f"{name}: posting a backlog of {backlog} deliveries")
    url = instance.receivers(consumers=False)
    posted = Load(url, concurrency).run(deliveries("completed", instance.merchants),
                                        total=backlog, first=first)
    instance.stop()
    stored = instance.statuses()
    if posted.accepted != backlog or stored != before + Counter(pending=backlog):
        raise SystemExit(f"{name}: {posted.accepted} of {backlog} deliveries accepted, "
                         f"stored: {dict(stored)}; see {folder}")
    total = sum(stored.values())
    count = consumers or instance.backend.consumers
    progress(f"{name}: draining the backlog with {count} consumer process(es)")
    started = instance.consumers(f"drain{count}-worker", consumers)
    wait_until(lambda: drained(instance, total), 300 + backlog / 5,
               f"the backlog to be processed; see {folder}", interval=0.1)
    seconds = time.monotonic() - started
    instance.stop()
    return posted, seconds


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
    if run.scaling is not None:
        print(f"one consumer process drained a backlog as large before: "
              f"{run.single_seconds:.1f} s, {run.backlog / run.single_seconds:.0f} "
              f"deliveries/s; the backend's consumers are {run.scaling:.2f}x as fast")
    print(f"deliveries: {dict(run.statuses)}, invoices: {run.invoices}"
          f"{'' if run.ok else '  CHECK FAILED'}")


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backlog", type=int, default=10_000, help="deliveries to drain")
    parser.add_argument("--merchants", type=int, default=1,
                        help="merchants, each with a shop, the backlog's orders spread over "
                             "them (one merchant's invoices are numbered one at a time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    add_common_options(parser)
    args = parser.parse_args()
    stop_on_sigterm()
    folder = bench_folder(args)
    runs = [measure(backend, folder / f"{backend.name}-drain", args.backlog, args.concurrency,
                    args.merchants) for backend in chosen_backends(args)]
    for run in runs:
        report(run)
    print(f"\nlogs and instances: {folder}")
    if not all(run.ok for run in runs):
        raise SystemExit("a check failed")


if __name__ == "__main__":
    main()
