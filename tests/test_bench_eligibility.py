"""The eligibility benchmark runs and prints its figures: ``bench/eligibility.py`` at a tiny
size, on the embedded backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from servers import run_bench

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "eligibility.py"

pytestmark = pytest.mark.slow


def test_bench_prints_the_figures_of_a_tiny_run(tmp_path: Path) -> None:
    out = run_bench(SCRIPT, "--seconds", "1", "--history", "20", "--buyers", "5",
                    "--concurrency", "2", "--backend", "embedded", "--folder", str(tmp_path),
                    "--limit-ms", "10000",  # figures, not a latency test: a busy machine passes
                    timeout=180)
    summary = out.split("== summary", 1)[1]
    for row in ("GET /livez req/s", "eligibility, known buyer p99 ms",
                "eligibility, new buyer p99 ms", "known buyer req/s / livez req/s"):
        assert row in summary
    assert summary.rstrip().endswith("ok")
