"""The risk engine's commands: API keys, products, merchant terms, the policy, buyers'
limits, and the decision in ``orders show``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import main
from orders import order_data


@pytest.fixture
def cli(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.delenv("INVOICEKIT_DATABASE_URL", raising=False)
    monkeypatch.delenv("INVOICEKIT_QUEUE_URL", raising=False)
    runner = CliRunner()

    def cli(*args, ok: bool = True) -> str:
        result = runner.invoke(main, [str(a) for a in args])
        assert (result.exit_code == 0) is ok, result.output
        return result.stdout if ok else result.output

    cli("merchants", "add", 3333, "--name", "ACME Office GmbH", "--kyc-verified")
    cli("shops", "add", "woocommerce", "acme", "--merchant", 3333, "--secret", "s")
    return cli


def test_api_keys_are_shown_once_listed_without_secret_and_revoked(cli):
    created = cli("apikeys", "create", "--merchant", 3333, "--name", "checkout")
    key = created.splitlines()[1]
    assert key.startswith("ik_") and "cannot be shown again" in created
    listed = cli("apikeys", "list")
    assert "checkout" in listed and "active" in listed and key not in listed
    assert "revoked" in cli("apikeys", "revoke", 1)
    assert "revoked" in cli("apikeys", "list")
    assert "merchant 4 does not exist" in cli("apikeys", "create", "--merchant", 4, ok=False)


def test_products_and_terms(cli):
    assert cli("products", "set", 3333, "BOX", "--trial").strip() == \
        "BOX    approved, trial period"
    cli("products", "set", 3333, "CARD", "--not-approved", "--name", "Gift card")
    assert cli("products", "list", 3333).splitlines() == [
        "BOX    approved, trial period", "CARD  Gift card  not approved"]
    shown = cli("merchants", "terms", 3333, "--minimum", "100.00", "--country", "de",
                "--country", "CH", "--on-unknown", "decline", "--vies")
    assert "carts 100.00 EUR to 19999.00 EUR; countries CH DE (by contract)" in shown
    assert "unverifiable company: decline; VIES on" in shown
    assert "carts 50.00 EUR" in cli("merchants", "terms", 3333, "--reset")
    refused = cli("merchants", "terms", 3333, "--minimum", "500", "--maximum", "100", ok=False)
    assert "minimum must be positive and not above the maximum" in refused


def test_policy_and_a_buyers_limit(cli, tmp_path):
    shown = cli("risk", "policy", "--initial-limit", "1000.00", "--eur-rate", "SEK=11.20")
    assert "initial limit 1000.00 EUR" in shown and "1 EUR = 11.20 SEK" in shown
    assert "EUR only" in cli("risk", "policy", "--eur-rate", "SEK=0")
    assert "no credit profile" in cli("risk", "buyer", "DE136695976", ok=False)

    order = tmp_path / "order.json"
    order.write_text(json.dumps(order_data(lines=[("1", "product", "Desk", 1, "400.00", "19")],
                                           discounts=[])), encoding="utf-8")
    cli("orders", "feed", order)
    shown = cli("orders", "show", "acme", "1001")
    assert ("eligibility: approved; credit limit 1000.00 EUR, used 476.00 with this order, "
            "1000.00 was available; fee 6.99 % = 33.27 EUR") in shown
    assert json.loads(cli("orders", "show", "acme", "1001", "--json"))["decision"]["limit"][
        "used"] == "476.00"

    cli("risk", "set-limit", "DE 136 695 976", "5000", "--reason", "agency report")
    history = cli("risk", "buyer", "DE136695976")
    assert "limit 5000.00 EUR" in history
    assert "opened at the initial limit with order 1001" in history
    assert "1000.00 EUR -> 5000.00 EUR  set by hand: agency report" in history


def test_users_are_added_with_a_hashed_password(cli, tmp_path):
    from sqlalchemy import create_engine, text

    added = cli("users", "add", "Anna@ACME.example", "--merchant", 3333,
                "--password", "correct horse battery")
    assert "user anna@acme.example of merchant 3333 added" in added
    assert "at least 12 characters" in cli("users", "add", "b@acme.example", "--merchant",
                                           3333, "--password", "short", ok=False)
    assert "exists already" in cli("users", "add", "anna@acme.example", "--merchant", 3333,
                                   "--password", "correct horse battery", ok=False)
    engine = create_engine(f"sqlite:///{tmp_path / 'instance' / 'invoicekit.db'}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert stored.startswith("scrypt:") and "correct horse" not in stored
