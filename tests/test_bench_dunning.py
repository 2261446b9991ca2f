"""The dunning benchmark runs and prints its figures: ``bench/dunning.py`` at a tiny size, on
the embedded backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from servers import run_bench

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "dunning.py"

pytestmark = pytest.mark.slow


def test_dunning_bench_prints_the_tick_figures_and_ratios(tmp_path: Path) -> None:
    # The production backend drops and recreates its database's schema: it is run by hand
    # (docs/performance.md), never on the test database other tests share.
    out = run_bench(SCRIPT, "--total", "2000", "--due-percent", "5", "--backend", "embedded",
                    "--folder", str(tmp_path), timeout=180)
    assert "== dunning tick, embedded" in out
    for label, total, due in (("A", "2,000", "100"), ("B", "2,000", "200"),
                              ("C", "200", "100")):
        assert re.search(rf"^{label}: {total} receivables, {due} due: tick [\d.]+ s "
                         rf"\(\d+ due/s, [\d.]+ ms each", out, re.MULTILINE), out
    assert "steps taken: {'reminder': 200}; notices delivered: 200; .eml files: 200" in out
    assert "ix_receivables_next_step_on" in out  # the plan reads the index
    assert re.search(r"B/A .*:\s+tick [\d.]+ \(expected ~2\)", out)
    assert re.search(r"C/A .*:\s+tick [\d.]+ \(expected ~1\)", out)
    summary = out.split("== summary", 1)[1]
    for row in ("A: tick s", "B: due receivables/s", "C: read of the due ids s",
                "tick B/A (2x due; expected ~2)", "tick C/A (1/10 of all; expected ~1)"):
        assert row in summary
    assert summary.rstrip().endswith("ok")
    assert not list(tmp_path.glob("embedded-200/outbox/*.tmp"))
