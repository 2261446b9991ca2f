"""The copy-pasteable examples in docs/ work: the generic event files match the published
JSON Schema, send_event.py delivers them to a real `invoicekit serve`, and the Shopware
manifest command shown in docs/shopware.md renders a manifest pointing at the kit."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from core.errors import PayloadError
from plugins.generic.events import read_event
from plugins.shopware.order import EVENT_STATUS
from servers import free_port, invoicekit, kit_env, start_serve, stop_serve, wait_until

DOCS = Path(__file__).resolve().parent.parent / "docs"
GENERIC = DOCS / "examples" / "generic"
EXAMPLES = sorted(GENERIC.glob("*.json"))
SCHEMA = DOCS / "generic-events.schema.json"
SENDER = GENERIC / "send_event.py"
MANIFEST_COMMAND = "python -m plugins.shopware.manifest --merchant 3333 > InvoiceKit/manifest.xml"


def validator():
    import jsonschema  # a test dependency (setup.cfg, extras "test")

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


# -- the JSON Schema ------------------------------------------------------------------------

def test_there_is_an_example_for_every_event_type():
    types = [json.loads(path.read_text(encoding="utf-8"))["type"] for path in EXAMPLES]
    assert sorted(types) == sorted({"order.placed", "order.activated", "order.cancelled",
                                    "order.refunded", "order.discounted", "order.returned"})


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_matches_the_published_schema(path):
    errors = [e.message for e in validator().iter_errors(json.loads(path.read_bytes()))]
    assert errors == []


@pytest.mark.parametrize(("name", "change"), [
    ("unknown type", lambda e: e.update(type="order.shipped")),
    ("unknown top-level field", lambda e: e.update(id="evt_1")),
    ("shop in the order", lambda e: e["data"]["order"].update(shop="other")),
    ("money as a float", lambda e: e["data"]["order"].update(total=549.73)),
    ("money as an integer", lambda e: e["data"]["order"].update(total=549)),
    ("quantity as a string", lambda e: e["data"]["order"]["lines"][0].update(quantity="2")),
    ("negative quantity", lambda e: e["data"]["order"]["lines"][0].update(quantity=-1)),
    ("negative product line", lambda e: e["data"]["order"]["lines"][0].update(
        net="-300.00", gross="-243.00")),
    ("missing currency", lambda e: e["data"]["order"].pop("currency")),
    ("lower-case country", lambda e: e["data"]["order"]["buyer"].update(country="de")),
    ("cancelled without the status", lambda e: e.update(type="order.cancelled")),
    ("refunded without a refund", lambda e: e.update(type="order.refunded")),
    ("returned without lines", lambda e: e.update(type="order.returned")),
    ("discounted without a discount", lambda e: (
        e.update(type="order.discounted"), e["data"]["order"].update(discounts=[]))),
    ("shipped_lines on placement", lambda e: e["data"].update(
        shipped_lines=[{"line_id": "1", "quantity": 2}])),
    ("refund of zero", lambda e: e["data"]["order"].update(
        refunds=[{"refund_id": "R-0", "amount": "0.00"}])),
    ("shipped as a string", lambda e: e["data"]["order"]["lines"][0].update(shipped="1")),
    ("negative shipped", lambda e: e["data"]["order"]["lines"][0].update(shipped=-1)),
])
def test_schema_and_kit_both_refuse(name, change):
    event = json.loads(EXAMPLES[0].read_text(encoding="utf-8"))
    change(event)
    assert not validator().is_valid(event), name
    with pytest.raises(PayloadError):
        read_event(copy.deepcopy(event), "custom")


def test_shipped_units_per_line_match_schema_and_kit():
    event = json.loads(EXAMPLES[0].read_text(encoding="utf-8"))
    event["data"]["order"]["lines"][0]["shipped"] = 1
    event["data"]["order"]["lines"][1]["shipped"] = None
    assert validator().is_valid(event)
    _, snapshot = read_event(copy.deepcopy(event), "custom")
    assert [line.shipped for line in snapshot.lines][:2] == [1, None]


def test_generic_doc_links_every_example_and_the_schema():
    text = (DOCS / "generic.md").read_text(encoding="utf-8")
    for path in [*EXAMPLES, SENDER]:
        assert f"examples/generic/{path.name}" in text, path.name
    assert "generic-events.schema.json" in text


# -- send_event.py against a real `invoicekit serve` ------------------------------------------

def load_sender():
    spec = importlib.util.spec_from_file_location("send_event", SENDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sender_signs_the_standard_webhooks_reference_vector():
    signature = load_sender().sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                   "msg_p5jXN8AQM9LWM0D4loKWxJek", 1674087231,
                                   b'{"test": 2432232314}')
    assert signature == "v1,AQG81rX2n4rTN1fkXoqILSHO9gAOcwya9dP41rhrQDI="


@pytest.mark.slow
def test_send_event_delivers_every_example_to_a_real_server(tmp_path, database_url, queue_url,
                                                           engine):
    env = kit_env(tmp_path / "instance", database_url, queue_url)
    invoicekit(env, "merchants", "add", "3333", "--name", "ACME Office GmbH",
               "--kyc-verified")
    added = invoicekit(env, "shops", "add", "generic", "custom", "--merchant", "3333")
    secret = re.search(r"secret:\s+(whsec_\S+)", added).group(1)
    assert "/webhooks/generic/custom" in added

    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/generic/custom"
    server = start_serve(env, port, tmp_path / "serve.log")
    try:
        for n, path in enumerate(EXAMPLES, start=1):
            sent = subprocess.run([sys.executable, str(SENDER), url, secret, str(path)],
                                  capture_output=True, text=True, timeout=60)
            assert sent.returncode == 0, (path.name, sent.stdout, sent.stderr)
            assert sent.stdout.splitlines()[0] == "202", (path.name, sent.stdout)
            assert '"accepted"' in sent.stdout
            # one at a time, as a shop sends them: each is processed before the next
            wait_until(lambda n=n: done(env) == n, timeout=60)
    finally:
        stop_serve(server)
    shown = json.loads(invoicekit(env, "orders", "show", "custom", "GEN-1001", "--json"))
    assert (shown["status"], shown["open"]) == ("credited", "0.00"), shown
    assert [(op["kind"], op["amount"], op["status"]) for op in shown["operations"]] == [
        ("placement", "549.73", "succeeded"), ("activation", "549.73", "succeeded"),
        ("discount_transfer", "15.00", "succeeded"), ("partial_credit", "20.00", "succeeded"),
        ("return", "124.95", "succeeded"), ("full_credit", "389.78", "succeeded")]


def done(env: dict[str, str]) -> int:
    """How many of the shop's deliveries are processed; fails at once on a dead one."""
    listing = invoicekit(env, "deliveries", "list", "--shop", "custom")
    assert " dead " not in listing, listing
    return listing.count(" done ")


# -- docs/shopware.md: the manifest command -----------------------------------------------------

def shopware_doc() -> str:
    return (DOCS / "shopware.md").read_text(encoding="utf-8")


def documented_toml() -> str:
    """The doc's invoicekit.toml block: public_url and the [platforms.shopware] table."""
    blocks = re.findall(r"```toml\n(.*?)```", shopware_doc(), re.DOTALL)
    return next(b for b in blocks if "[platforms.shopware]" in b)


def test_manifest_command_of_the_doc_renders_the_manifest(tmp_path):
    import tomllib

    assert MANIFEST_COMMAND in shopware_doc()
    block = documented_toml()
    values = tomllib.loads(block)
    public_url, app = values["public_url"], values["platforms"]["shopware"]
    home = tmp_path / "instance"
    env = {**os.environ, "INVOICEKIT_HOME": str(home)}
    env.pop("INVOICEKIT_DATABASE_URL", None)
    invoicekit(env, "db", "upgrade")  # creates invoicekit.toml
    config = home / "invoicekit.toml"  # as the doc says: change public_url, add the table
    text = re.sub(r"(?m)^public_url = .*$", f'public_url = "{public_url}"',
                  config.read_text(encoding="utf-8"))
    config.write_text(text + "\n" + block[block.index("[platforms.shopware]"):],
                      encoding="utf-8")

    (tmp_path / "InvoiceKit").mkdir()
    command, target = MANIFEST_COMMAND.split(" > ")
    with (tmp_path / target).open("w", encoding="utf-8") as out:
        subprocess.run([sys.executable, *command.split()[1:]], env=env, cwd=tmp_path,
                       stdout=out, check=True, timeout=60)
    rendered = (tmp_path / target).read_text(encoding="utf-8")

    from plugins.shopware.manifest import render
    from plugins.shopware.registration import app_secret_for

    assert rendered == render(public_url, 3333, app_secret_for(app, 3333))
    root = ET.fromstring(rendered)
    assert root.findtext("meta/name") == app["app_name"] == "InvoiceKit"
    assert root.findtext("setup/registrationUrl") == \
        f"{public_url}/apps/shopware/register?merchant=3333"
    assert root.findtext("setup/secret") == app_secret_for(app, 3333) != app["app_secret"]
    webhooks = root.findall("webhooks/webhook")
    assert {w.get("url") for w in webhooks} == {f"{public_url}/webhooks/shopware",
                                                f"{public_url}/apps/shopware/deleted"}
    assert {w.get("event") for w in webhooks} == set(EVENT_STATUS) | {"app.deleted"}
    for event in EVENT_STATUS:  # the doc lists what each event does
        assert f"`{event}`" in shopware_doc(), event
