"""The command line, as the README runs it, and bad input that must change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import main

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("order-1001-*.json"))


@pytest.fixture
def cli(monkeypatch, database_url, engine):
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, [str(a) for a in args])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run("db", "upgrade")
    run("merchants", "add", "--id", 3333, "--name", "ACME Office GmbH",
        "--account-holder", "ACME Receivables", "--bank-code", "10020030",
        "--account-range", "4000000000-4000999999")
    run("shops", "add", "acme", "--merchant", 3333, "--platform", "woocommerce",
        "--activate-on", "completed", "--cancel-on", "cancelled")
    return run


def test_readme_flow(cli):
    result = cli("orders", "feed", *EXAMPLES)
    assert "order 1001 authorised: placement 549.73" in result.output
    assert "order 1001 active: activation 549.73" in result.output
    assert "order 1001 active: return 178.50" in result.output
    shown = cli("orders", "show", "acme", "1001").output
    assert "open 371.23 EUR" in shown
    assert "reference BP1001/3333" in shown
    assert "credit_note CN-000001: 178.50 EUR" in shown


def test_invalid_snapshot_writes_nothing_and_names_the_field(cli, tmp_path):
    data = json.loads(EXAMPLES[0].read_text())
    data["lines"][0]["quantity"] = -2
    data["total"] = 549.73
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = cli("orders", "feed", bad, ok=False)
    assert result.exit_code == 1
    assert "lines.0.quantity" in result.output and "total" in result.output
    shown = cli("orders", "show", "acme", "1001", ok=False)
    assert "has no order" in shown.output


def test_shop_needs_an_installed_provider(cli):
    result = cli("shops", "add", "other", "--merchant", 3333, "--platform", "generic",
                 "--provider", "nope", "--activate-on", "completed", ok=False)
    assert result.exit_code == 2 and "no provider plugin named 'nope'" in result.output


def test_plugins_lists_the_local_provider(cli):
    assert "local 0.1.0 (core.local_provider.plugin)" in cli("plugins").output
