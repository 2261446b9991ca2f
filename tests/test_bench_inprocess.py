"""The in-process benchmark runs and prints its figures: ``bench/inprocess.py`` at a tiny
size, profiled."""

from __future__ import annotations

from pathlib import Path

import pytest

from servers import run_bench

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "inprocess.py"

pytestmark = pytest.mark.slow


def test_bench_prints_cpu_per_delivery_and_the_profiles(tmp_path: Path) -> None:
    out = run_bench(SCRIPT, "--deliveries", "5", "--profile", "--dump", str(tmp_path),
                    "--folder", str(tmp_path), timeout=180)
    assert "receipt: 5 deliveries" in out and "processing: 5 deliveries" in out
    assert "ms CPU each" in out
    assert "process_delivery" in out and "_receive" in out  # the profiles' entries
    assert {p.name for p in tmp_path.glob("*.pstats")} == {"receipt.pstats",
                                                          "processing.pstats"}
