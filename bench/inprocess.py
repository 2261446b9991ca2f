"""CPU per delivery, in one process and one thread: receipt (the receiver's Flask app through
its test client) and processing (``process_delivery`` and the write-back outbox), embedded.

No server, queue or second thread shares the process, so the figures are the code's own
cost per delivery; with ``--profile`` each phase runs under cProfile and its top entries
are printed (``--dump DIR`` keeps the ``.pstats`` files). Use it to compare two commits in
the same minutes (``PYTHONPATH=<other checkout>``), and ``run.py`` for throughput.

    python bench/inprocess.py --deliveries 300 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import Backend, Instance, deliveries

from core.inbox import process_delivery
from core.writeback.outbox import send_due
from webhooks import create_app

WARM_UP = 50


def measure(name: str, work: Callable[[], None], count: int, profile: bool,
            dump: Path | None) -> None:
    """Run ``work`` (``count`` deliveries) and print wall and CPU time per delivery."""
    profiler = cProfile.Profile() if profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    work()
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{name}: {count} deliveries, {1000 * wall / count:.2f} ms wall, "
          f"{1000 * cpu / count:.2f} ms CPU each")
    if profiler:
        if dump:
            profiler.dump_stats(dump / f"{name}.pstats")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(
            r"/(core|plugins|webhooks)/", 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=300,
                        help="deliveries measured, after 50 of warm-up [default: %(default)s]")
    parser.add_argument("--profile", action="store_true", help="run under cProfile")
    parser.add_argument("--dump", type=Path, help="folder for the .pstats files")
    parser.add_argument("--folder", type=Path,
                        help="folder for the instance [default: a new temporary one]")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the kit's log lines would cost time of their own
    folder = (args.folder or Path(tempfile.mkdtemp(prefix="invoicekit-inprocess-"))) / "instance"
    with Instance(Backend("embedded"), folder) as instance:
        kit = instance.kit
        client = create_app(kit=kit).test_client()
        request = deliveries("completed")

        def receive(numbers: range) -> None:
            for n in numbers:
                method, path, body, headers, status = request(n)
                answer = client.open(path, method=method, data=body, headers=headers)
                assert answer.status_code == status, answer.get_data(as_text=True)

        receive(range(WARM_UP))
        count = args.deliveries
        measure("receipt", lambda: receive(range(WARM_UP, WARM_UP + count)), count,
                args.profile, args.dump)
        ids = instance.delivery_ids()

        def process(chosen: list[int]) -> None:
            for n, delivery_id in enumerate(chosen, 1):
                process_delivery(kit.engine, kit.hooks, delivery_id, kit.backoff)
                if n % 20 == 0:
                    send_due(kit.engine, kit.hooks, kit.backoff)
            send_due(kit.engine, kit.hooks, kit.backoff)

        process(ids[:WARM_UP])
        measure("processing", lambda: process(ids[WARM_UP:]), len(ids) - WARM_UP,
                args.profile, args.dump)
        if instance.statuses() != {"done": len(ids)}:
            raise SystemExit(f"not every delivery is done: {instance.statuses()}")


if __name__ == "__main__":
    main()
