"""The command line, as the README runs it, and bad input that must change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from webhooks.cli import main

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("order-1001-*.json"))


@pytest.fixture
def cli(monkeypatch, database_url, engine, tmp_path):
    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, [str(a) for a in args])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run("db", "upgrade")
    run("merchants", "add", 3333, "--name", "ACME Office GmbH", "--kyc-verified",
        "--account-holder", "ACME Receivables", "--bank-code", "10020030",
        "--account-range", "4000000000-4000999999")
    run("shops", "add", "woocommerce", "acme", "--merchant", 3333, "--secret", "s3cret")
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
    details = json.loads(cli("orders", "show", "acme", "1001", "--json").output)
    assert details["open"] == "371.23" and details["activated"] == "549.73"
    assert [op["kind"] for op in details["operations"]] == ["placement", "activation", "return"]


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


def test_shop_needs_an_installed_provider_and_platform(cli):
    result = cli("shops", "add", "woocommerce", "other", "--merchant", 3333,
                 "--provider", "nope", ok=False)
    assert result.exit_code == 2 and "no provider plugin named 'nope'" in result.output
    result = cli("shops", "add", "magento", "other", "--merchant", 3333, ok=False)
    assert result.exit_code == 2 and "no platform plugin named 'magento'" in result.output


def test_shops_add_prints_url_and_secret(cli):
    result = cli("shops", "add", "woocommerce", "second", "--merchant", 3333)
    assert "delivery URL: http://127.0.0.1:8000/webhooks/woocommerce/second" in result.output
    secret = result.output.split("secret:")[1].split()[0]
    assert len(secret) >= 32


def test_plugins_lists_the_local_provider(cli):
    assert "local 0.1.0 (core.local_provider.plugin)" in cli("plugins").output


def test_shops_configure_changes_settings_and_mapping(cli):
    result = cli("shops", "configure", "acme", "--rest-url", "https://shop.example",
                 "--consumer-key", "ck", "--consumer-secret", "cs", "--payment-method", "bacs",
                 "--activate-on", "shipped")
    assert '"shipped": "activate"' in result.output and "shop API reads: on" in result.output
    assert '"completed"' not in result.output
    bad = cli("shops", "configure", "acme", "--rest-url", "https://x", ok=False)
    assert bad.exit_code == 2 and "go together" in bad.output


def test_shops_show_lists_capabilities_and_hides_secrets(cli):
    cli("shops", "configure", "acme", "--rest-url", "https://shop.example", "--consumer-key",
        "ck", "--consumer-secret", "cs_hidden")
    with responses.RequestsMock() as shop_api:  # the shop's webhooks are read
        shop_api.get("https://shop.example/wp-json/wc/v3/webhooks", json=[])
        shown = cli("shops", "show", "acme").output
    assert "capabilities: activation, discount_transfer, full_credit, partial_credit, return" \
        in shown
    assert "shop checks: webhook order.created missing, webhook order.updated missing" in shown
    assert "cs_hidden" not in shown and "s3cret" not in shown and '"***"' in shown


def test_merchant_account_range_defaults_to_its_own_million(cli):
    cli("merchants", "add", 42, "--name", "Second GmbH")
    clash = cli("merchants", "add", 43, "--name", "Third GmbH", "--account-range",
                "42000500-42000600", ok=False)
    assert clash.exit_code == 1 and "overlaps merchant 42" in clash.output


def test_merchants_list_and_configure(cli):
    assert "virtual IBANs 0 of 1000000 used" in cli("merchants", "list").output
    cli("merchants", "configure", 3333, "--account-last", 4001999999, "--payment-term", 14,
        "--bic", "ABCDDEFFXXX")
    listed = cli("merchants", "list").output
    assert "of 2000000 used" in listed and "payment term 14 days" in listed
    shrink = cli("merchants", "configure", 3333, "--account-last", 4000000001, ok=False)
    assert shrink.exit_code == 1 and "only be extended" in shrink.output


def test_generic_secret_must_be_a_standard_webhooks_secret(cli):
    bad = cli("shops", "add", "generic", "custom", "--merchant", 3333, "--secret", "plain",
              ok=False)
    assert bad.exit_code == 2 and "whsec_" in bad.output
    good = cli("shops", "add", "generic", "custom", "--merchant", 3333)
    assert "secret:       whsec_" in good.output


def test_operations_list_and_retry(cli, database_url):
    from sqlalchemy import create_engine, text

    cli("orders", "feed", EXAMPLES[0])
    listed = cli("operations", "list").output
    assert "acme/1001  placement 549.73 EUR  succeeded (attempts 1)" in listed
    assert cli("operations", "list", "--failed").output == ""
    missing = cli("operations", "retry", 999, ok=False)
    assert missing.exit_code == 1 and "no operation 999" in missing.output

    engine = create_engine(database_url)  # the order's provider is uninstalled meanwhile
    with engine.begin() as conn:
        conn.execute(text("UPDATE shop_connections SET provider = 'gone'"))
        conn.execute(text("UPDATE orders SET provider = 'gone'"))
    engine.dispose()
    cli("orders", "feed", EXAMPLES[1], ok=False)
    failed = cli("operations", "list", "--failed").output
    assert "activation 549.73 EUR  dead (attempts 1) - no provider plugin named 'gone'" in failed
    retried = cli("operations", "retry", failed.split()[0], ok=False)
    assert retried.exit_code == 1 and "failed (dead)" in retried.output


def test_dunning_commands(cli, tmp_path):
    from datetime import UTC, datetime, timedelta

    cli("orders", "feed", EXAMPLES[0], EXAMPLES[1])  # invoiced today: 549.73 EUR

    def day(n: int) -> str:
        return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()

    policy = cli("dunning", "policy", 3333).output
    assert "not yet chosen; default applies" in policy and "handover" in policy
    assert "cancel" in cli("dunning", "policy", 3333, "--final", "cancel").output
    assert "steps taken: 1 call" in cli("dunning", "run", "--date", day(1)).output
    assert "steps taken: none" in cli("dunning", "run", "--date", day(1)).output  # once
    calls = cli("dunning", "calls").output
    assert "acme 1001" in calls and "product received?" in calls
    cli("dunning", "call", "acme", "1001", "--outcome", "all fine, invoice forwarded")
    run = cli("dunning", "run", "--date", day(5)).output
    assert "steps taken: 1 reminder" in run and "notices delivered: 1" in run
    assert len(list((tmp_path / "instance" / "outbox").glob("*.eml"))) == 1
    shown = cli("dunning", "show", "acme", "1001").output
    assert "open 549.73 EUR, open" in shown
    assert "outcome: all fine, invoice forwarded" in shown
    assert "upcoming for 549.73 EUR" in shown and "letter_1" in shown and "planned" in shown
    assert "in default" not in shown
    paid = cli("payments", "record", "acme", "1001", "500.00", "--date", day(6),
               "--reference", "BP1001/3333").output
    assert "500.00 EUR to invoice INV-000001: open 49.73 EUR, open" in paid
    too_much = cli("payments", "record", "acme", "1001", "50.00", ok=False)
    assert too_much.exit_code == 1 and "exceeds" in too_much.output
    assert cli("dunning", "run", "--date", "tomorrow", ok=False).exit_code == 2
    assert "stopped for 1 invoice" in cli("dunning", "stop", "acme", "1001", "--dispute").output
    assert "stopped (dispute)" in cli("dunning", "show", "acme", "1001").output
    assert "steps taken: none" in cli("dunning", "run", "--date", day(10)).output


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-11-23T06:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMT-1</Id>
   <Acct><Id><IBAN>DE02100200300000000001</IBAN></Id></Acct>
   {entries}
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""
ENTRY = """<Ntry>
    <Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>
    <AcctSvcrRef>{ref}</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <RltdPties><Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr>
      <CdtrAcct><Id><IBAN>{credited}</IBAN></Id></CdtrAcct></RltdPties>
     <RmtInf><Ustrd>{text}</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>"""


def test_payments_and_statements_commands(cli, tmp_path):
    from datetime import UTC, datetime

    cli("orders", "feed", EXAMPLES[0], EXAMPLES[1])  # invoiced today: 549.73 EUR
    block = json.loads(cli("payments", "block", "acme", "1001", "--json").output)[0]
    assert (block["amount"], block["reference"]) == ("549.73", "BP1001/3333")
    assert block["epc_payload"].startswith("BCD\n002\n1\nSCT\n")
    assert "written to" in cli("payments", "block", "acme", "1001", "--qr",
                               tmp_path / "giro.png").output
    assert (tmp_path / "giro.png").read_bytes().startswith(b"\x89PNG")

    today = datetime.now(UTC).date().isoformat()
    entries = [ENTRY.format(amount="600.00", day=today, ref="B1", name="ACME Kunde",
                            credited=block["iban"], text="Rechnung"),
               ENTRY.format(amount="80.00", day=today, ref="B2", name="Hans Beispiel",
                            credited="DE89370400440532013000", text="Danke")]
    statement = tmp_path / "statement.xml"
    statement.write_text(CAMT.format(entries="\n".join(entries)), encoding="utf-8")
    imported = cli("payments", "import", statement).output
    assert "2 transactions: 1 matched, 1 unmatched" in imported
    assert "549.73 EUR paid to invoices, 50.27 EUR to buyer credits" in imported
    assert "2 transactions: 2 imported before" in cli("payments", "import", statement).output
    unmatched = cli("payments", "unmatched").output
    assert "80.00 EUR  unmatched  Hans Beispiel  Danke" in unmatched
    assert "credit 50.27 EUR" in cli("payments", "credits").output
    assert "50.27 EUR to pay back" in cli("payments", "refund", "1").output
    assert "no buyer has a credit" in cli("payments", "credits").output

    broken = tmp_path / "broken.xml"
    broken.write_text(CAMT.format(entries="\n".join(entries))[:-200], encoding="utf-8")
    refused = cli("payments", "import", broken, ok=False)
    assert refused.exit_code == 1 and "refused, nothing booked" in refused.output

    week = datetime.now(UTC).date().isocalendar()
    built = cli("statements", "build", "--merchant", 3333, "--week",
                f"{week[0]}-W{week[1]:02d}").output
    assert "payout for the week: " in built
    assert (tmp_path / "instance" / "statements" / "3333").is_dir()
    assert cli("statements", "build", "--merchant", 3333, "--week", "soon",
               ok=False).exit_code == 1
