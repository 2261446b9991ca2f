"""Issue 24's hardening: security headers, JSON nested too deeply, the API's cart size and
body limit, one 404 for every unknown webhook address, statement weeks, and CSV cells a
spreadsheet would run as formulas. Each refusal is checked to change nothing."""

from __future__ import annotations

import csv
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

import woo
from conftest import MERCHANT_ID, WOO_SECRET
from core.ledger.db import session_scope
from core.ledger.models import Buyer, CheckoutDecision, Delivery, Order, ShopConnection
from core.ledger.store import Ledger
from core.risk.apikeys import create_key
from core.schemas import load_snapshot
from core.statements.build import build_statement
from core.users import create_user
from orders import order_data
from timeline import CART, at, run, tick  # noqa: F401  (tick is a fixture)
from webhooks.api import MAX_LINES
from webhooks.security import PAGE_POLICY

DEEP = ("[" * 100_000 + "]" * 100_000).encode()
FORMULA = '=HYPERLINK("http://x","y")'
PASSWORD = "correct horse battery"
TEMPLATES = Path(__file__).resolve().parent.parent / "backoffice" / "templates" / "office"


def rows(kit, table) -> int:
    with session_scope(kit.engine, write=False) as session:
        return session.scalar(select(func.count()).select_from(table))


@pytest.fixture
def api_key(kit, woo_shop) -> str:
    with session_scope(kit.engine) as session:
        return create_key(Ledger(session), MERCHANT_ID, "checkout")[1]


NOW = datetime(2026, 12, 13, 12, tzinfo=UTC)  # a Sunday, in 2026-W50


@pytest.fixture
def frozen():
    """The test runs on :data:`NOW`, the clock stopped."""
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def office(frozen, kit, woo_shop, client):
    """A signed-in back-office client of merchant 3333, on :data:`NOW`."""
    with session_scope(kit.engine) as session:
        create_user(Ledger(session), MERCHANT_ID, "anna@acme.example", PASSWORD)
    page = client.get("/office/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert client.post("/office/sign-in", data={"csrf": token, "email": "anna@acme.example",
                                                "password": PASSWORD}).status_code == 302
    return client


# -- headers ---------------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(client, api_key):
    for answer in (client.get("/livez"), client.get("/office/sign-in"),
                   client.post("/webhooks/woocommerce/nosuch", data=b"{}"),
                   client.post("/api/v1/eligibility", json={},
                               headers={"Authorization": f"Bearer {api_key}"})):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "same-origin"


def test_office_pages_get_the_content_security_policy_and_nothing_is_cached(office, client,
                                                                             api_key):
    page = office.get("/office/orders")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"] == PAGE_POLICY
    assert "frame-ancestors 'none'" in PAGE_POLICY and "unsafe" not in PAGE_POLICY
    assert page.headers["Cache-Control"] == "no-store"
    download = office.get("/office/statements/2026-W50.csv")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" not in download.headers  # a file, not a page
    api = client.post("/api/v1/eligibility", json={},
                      headers={"Authorization": f"Bearer {api_key}"})
    assert api.status_code == 422 and api.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/livez").headers.get("Cache-Control", "")


def test_office_templates_need_no_inline_script_or_style():
    """The policy allows no inline code: the office's pages must not need any."""
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", text), \
            template.name


# -- JSON nested too deeply ---------------------------------------------------------------------


def _refused_cleanly(answer, caplog) -> None:
    assert answer.status_code == 400
    assert "nested too deeply" in answer.json["error"]
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_deep_json_on_a_signed_webhook_is_400_and_stores_nothing(client, kit, caplog):
    caplog.set_level(logging.INFO)
    answer = client.post("/webhooks/woocommerce/acme", data=DEEP,
                         headers=woo.headers(DEEP, WOO_SECRET, "order.created"))
    _refused_cleanly(answer, caplog)
    assert rows(kit, Delivery) == 0 and rows(kit, Order) == 0


def test_deep_json_on_the_api_is_400_and_decides_nothing(client, kit, api_key, caplog):
    caplog.set_level(logging.INFO)
    answer = client.post("/api/v1/eligibility", data=DEEP, content_type="application/json",
                         headers={"Authorization": f"Bearer {api_key}"})
    _refused_cleanly(answer, caplog)
    assert rows(kit, CheckoutDecision) == 0


@pytest.mark.parametrize("url", ["/webhooks/shopware", "/apps/shopware/pay",
                                 "/apps/shopware/confirm", "/apps/shopware/deleted"])
def test_deep_json_unauthenticated_to_shopware_is_400_and_stores_nothing(client, kit, url,
                                                                         caplog):
    caplog.set_level(logging.INFO)
    _refused_cleanly(client.post(url, data=DEEP, content_type="application/json"), caplog)
    assert rows(kit, Delivery) == 0 and rows(kit, ShopConnection) == 1  # acme only


def test_json_nested_just_deep_enough_is_read():
    from core.schemas import MAX_JSON_DEPTH, parse_json

    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(Exception, match="nested too deeply"):
        parse_json('{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1))


# -- the eligibility API's cart and body size --------------------------------------------------

REQUEST = {"amount": "1190.00", "currency": "EUR",
           "buyer": {"company": "Muster Bürobedarf", "legal_form": "GmbH",
                     "vat_id": "DE136695976", "street": "Hauptstraße 5", "postcode": "10115",
                     "city": "Berlin", "country": "DE"}}


def test_a_cart_of_50000_lines_is_422_naming_lines(client, kit, api_key):
    headers = {"Authorization": f"Bearer {api_key}"}
    answer = client.post("/api/v1/eligibility", headers=headers,
                         json={**REQUEST, "lines": [{"sku": "DESK"}] * 50_000})
    assert answer.status_code == 422
    assert answer.json["fields"] == {"lines": [f"at most {MAX_LINES} lines"]}
    assert rows(kit, CheckoutDecision) == 0
    full = client.post("/api/v1/eligibility", headers=headers,
                       json={**REQUEST, "lines": [{"sku": "DESK"}] * MAX_LINES})
    assert full.status_code == 200


def test_a_body_past_the_limit_is_413(client, kit, api_key):
    too_big = b'{"a": "' + b"x" * kit.settings.max_body_bytes + b'"}'
    answer = client.post("/api/v1/eligibility", data=too_big, content_type="application/json",
                         headers={"Authorization": f"Bearer {api_key}"})
    assert answer.status_code == 413
    assert rows(kit, CheckoutDecision) == 0


# -- one 404 for every unknown webhook address -------------------------------------------------


def test_unknown_platform_unknown_shop_and_another_platforms_shop_answer_alike(client, kit):
    raw = woo.body(woo.order(4711))
    answers = [client.post(url, data=raw, headers=woo.headers(raw, WOO_SECRET))
               for url in ("/webhooks/nosuch/acme", "/webhooks/woocommerce/nosuch",
                           "/webhooks/generic/acme", "/webhooks/nosuch/nosuch")]
    assert {a.status_code for a in answers} == {404}
    assert len({a.get_data() for a in answers}) == 1
    assert b"acme" not in answers[0].get_data()
    assert rows(kit, Delivery) == 0


# -- statement weeks --------------------------------------------------------------------------


def test_only_real_weeks_from_2000_to_this_one_have_statements(office, kit):
    folder = kit.settings.home / "statements"
    for week in ("1-W01", "9999-W52", "1999-W52", "2026-W51", "2026-W53", "2027-W01",
                 "2026-W00", "2026-W5", "+2026-W05", "2026-W05x", "2_026-W05", " 2026-W05"):
        for kind in ("csv", "pdf"):
            assert office.get(f"/office/statements/{week}.{kind}").status_code == 404, week
    assert not folder.exists()
    assert office.get("/office/statements/2000-W01.csv").status_code == 200
    assert office.get("/office/statements/2026-w50.pdf").status_code == 200  # this week
    assert sorted(p.name for p in (folder / str(MERCHANT_ID)).iterdir()) == [
        "statement-3333-2000-W01.csv", "statement-3333-2000-W01.pdf",
        "statement-3333-2026-W50.csv", "statement-3333-2026-W50.pdf"]


# -- CSV cells a spreadsheet would run ---------------------------------------------------------


def _formula_buyer() -> dict:
    return {**order_data()["buyer"], "company": FORMULA}


def test_a_formula_as_company_is_text_in_the_statement(engine, buy, tmp_path):
    buy("1001", buyer=_formula_buyer(), activate_on=0)
    statement = build_statement(engine, MERCHANT_ID, "2026-W10", tmp_path)
    with statement.csv_path.open(encoding="utf-8", newline="") as f:
        lines = [r for r in csv.DictReader(f) if not r["line_type"].startswith("total")]
    assert lines and {r["buyer_company"] for r in lines} == {"'" + FORMULA}
    assert any(r["net_amount"].startswith("-") for r in csv.DictReader(
        statement.csv_path.open(encoding="utf-8", newline="")))  # negative numbers stay numbers


def test_a_formula_as_company_is_text_in_the_handover(engine, buy, tick, tmp_path):  # noqa: F811
    buy("1001", buyer=_formula_buyer())
    run(tick, 0, 40)
    [handover] = (tmp_path / "collection").glob("*.csv")
    with handover.open(encoding="utf-8", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["buyer_company"] == "'" + FORMULA and row["principal"] == "1190.00"


def test_a_formula_in_a_snapshot_is_kept_as_sent(engine, feed):
    """Only what goes into a spreadsheet is changed; the ledger keeps the name as sent."""
    data = order_data(lines=CART, discounts=[], buyer=_formula_buyer(),
                      placed_at=at(0).isoformat(), ordering_key=at(0).isoformat())
    with time_machine.travel(at(0), tick=False):
        feed(load_snapshot(data))
    with session_scope(engine, write=False) as session:
        assert session.scalars(select(Buyer.company)).one() == FORMULA
