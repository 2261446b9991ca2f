"""The benchmarks run and print their figures: ``bench/run.py`` at a tiny size, on the
embedded backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from servers import run_bench

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"

pytestmark = pytest.mark.slow


def test_bench_prints_the_figures_of_a_tiny_run(tmp_path: Path) -> None:
    # The production backend drops and recreates its database's schema: it is run by hand
    # (docs/performance.md), never on the test database other tests share.
    backend, options = "embedded", ["--backend", "embedded"]
    out = run_bench(RUN, "--seconds", "1", "--backlog", "50", "--folder", str(tmp_path),
                    *options, timeout=180)
    assert f"== receiver, {backend}" in out and f"== drain, {backend}" in out
    assert "accepted deliveries:" in out and "deliveries: {'done': 50}, invoices: 50" in out
    summary = out.split("== summary", 1)[1]
    for row in ("receiver: deliveries accepted/s", "receiver: deliveries / livez",
                "drain: processed deliveries/s", "drain: processed / baseline"):
        assert row in summary
    assert summary.rstrip().endswith("ok")
