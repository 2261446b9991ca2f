"""The statements and imports benchmark runs and prints its figures: ``bench/payments.py`` at
a tiny size, on the embedded backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from servers import run_bench

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "payments.py"

pytestmark = pytest.mark.slow


def test_payments_bench_prints_statement_and_import_figures_and_ratios(
        tmp_path: Path) -> None:
    # The production backend drops and recreates its database's schema: it is run by hand
    # (docs/performance.md), never on the test database other tests share.
    out = run_bench(SCRIPT, "--movements", "5000", "--transactions", "500", "--backend",
                    "embedded", "--folder", str(tmp_path), timeout=240)
    assert "== statements and imports, embedded" in out
    assert "CHECK FAILED" not in out

    for label, rows, week in (("A", "5,000", "2026-W10"), ("B", "500", "2026-W11")):
        assert re.search(rf"^statement {label}: {rows} movements in {week}: [\d.]+ s "
                         rf"\([\d,]+ rows/s, CPU [\d.]+ s\); peak memory [\d.]+ MB, "
                         rf"[\d.]+ MB above the [\d.]+ MB before the build$", out,
                         re.MULTILINE), out
        assert re.search(rf"^    CSV rows: {rows}; total:payout (-?\d+\.\d\d) EUR "
                         rf"\(expected [-\d,]+\.\d\d\)", out, re.MULTILINE), out
    assert re.search(r"^statement A/B .*: time [\d.]+ \(expected ~10\), memory growth "
                     r"[\d.]+ \(expected ~1: flat\)$", out, re.MULTILINE), out
    assert "SEARCH movements USING INDEX ix_movements_merchant_id_occurred_at" in out

    for label, count, what in (("B", "50", "transfers"), ("A", "500", "transfers"),
                               ("A again", "500", "duplicates")):
        assert re.search(rf"^import {label}: {count} {what} \([\d.]+ MB camt.053\): [\d.]+ s "
                         rf"\([\d,]+ transactions/s, [\d.]+ ms each", out, re.MULTILINE), out
    assert "outcomes: {'booked': 50}; receivables settled: 50;" in out
    assert "outcomes: {'booked': 500}; receivables settled: 500;" in out
    assert "outcomes: {'duplicate': 500}; receivables settled: 500;" in out
    assert re.search(r"^import A/B .*: time [\d.]+ \(expected ~10\)$", out, re.MULTILINE)
    assert re.search(r"^read of a buyer's open receivables alone .*: [\d.]+ ms$", out,
                     re.MULTILINE), out

    summary = out.split("== summary", 1)[1]
    for row in ("statement A: rows/s", "statement B: memory growth MB",
                "statement A/B time (expected ~10)", "statement A/B memory growth (exp. ~1)",
                "import A: transactions/s", "import A again: s",
                "import A/B time (expected ~10)"):
        assert row in summary
    assert summary.rstrip().endswith("ok")
    assert (tmp_path / "embedded" / "statements" / "out" / "3333"
            / "statement-3333-2026-W10.pdf").exists()
