"""The benchmarks run and print their figures: ``bench/run.py`` at a tiny size, on the
embedded backend, and on PostgreSQL + Redis when the test database and queue are set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"

pytestmark = pytest.mark.slow


def production_options() -> list[str] | None:
    """The production backend on the test database and queue, if they are PostgreSQL and
    Redis."""
    database = os.environ.get("INVOICEKIT_TEST_DATABASE_URL", "")
    queue = os.environ.get("INVOICEKIT_TEST_QUEUE_URL", "")
    if database.startswith("postgresql") and queue.startswith("redis"):
        return ["--backend", "production", "--database-url", database, "--queue-url", queue]
    return None


@pytest.mark.parametrize("backend", ["embedded", "production"])
def test_bench_prints_the_figures_of_a_tiny_run(backend: str, tmp_path: Path) -> None:
    if backend == "embedded":
        options = ["--backend", "embedded"]
    elif (options := production_options()) is None:
        pytest.skip("needs INVOICEKIT_TEST_DATABASE_URL (PostgreSQL) and "
                    "INVOICEKIT_TEST_QUEUE_URL (Redis)")
    result = subprocess.run([sys.executable, str(RUN), "--seconds", "1", "--backlog", "50",
                             "--folder", str(tmp_path), *options],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"== receiver, {backend}" in out and f"== drain, {backend}" in out
    assert "accepted deliveries:" in out and "deliveries: {'done': 50}, invoices: 50" in out
    summary = out.split("== summary", 1)[1]
    for row in ("receiver: deliveries accepted/s", "receiver: deliveries / livez",
                "drain: processed deliveries/s", "drain: processed / baseline"):
        assert row in summary
    assert summary.rstrip().endswith("ok")
