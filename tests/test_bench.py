"""The benchmarks run and print their figures: ``bench/run.py`` at a tiny size, on the
embedded backend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"

pytestmark = pytest.mark.slow


def test_bench_prints_the_figures_of_a_tiny_run(tmp_path: Path) -> None:
    # The production backend drops and recreates its database's schema: it is run by hand
    # (docs/performance.md), never on the test database other tests share.
    backend, options = "embedded", ["--backend", "embedded"]
    # its own process group: on a timeout the kit's processes it started are killed too
    process = subprocess.Popen([sys.executable, str(RUN), "--seconds", "1", "--backlog", "50",
                                "--folder", str(tmp_path), *options], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the benchmark took more than 180 s:\n{out}{err}")
    assert process.returncode == 0, out + err
    assert f"== receiver, {backend}" in out and f"== drain, {backend}" in out
    assert "accepted deliveries:" in out and "deliveries: {'done': 50}, invoices: 50" in out
    summary = out.split("== summary", 1)[1]
    for row in ("receiver: deliveries accepted/s", "receiver: deliveries / livez",
                "drain: processed deliveries/s", "drain: processed / baseline"):
        assert row in summary
    assert summary.rstrip().endswith("ok")
