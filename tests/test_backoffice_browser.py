"""The back office in a real browser: Playwright driving Debian's Chromium against a real
``invoicekit serve``. Sign in, find the order a signed webhook created, activate it, cancel
10.00 of it, see the open amount and the timeline change, replay a dead delivery, download
a statement.

Skipped where /usr/bin/chromium is missing, unless INVOICEKIT_REQUIRE_BROWSER is set (CI
installs Chromium and sets it). With INVOICEKIT_SCREENSHOTS=DIR the pages are saved there
(docs/screenshots holds the ones of the docs)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

import woo
from core.ledger.db import session_scope
from core.ledger.models import Delivery, ShopConnection
from servers import free_port, invoicekit, kit_env, start_serve, stop_serve, wait_until

CHROMIUM = Path("/usr/bin/chromium")
SECRET = "wc-browser-secret"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.slow
if not CHROMIUM.exists() and not os.environ.get("INVOICEKIT_REQUIRE_BROWSER"):
    pytestmark = [pytestmark, pytest.mark.skip(reason="no /usr/bin/chromium (apt install "
                                                      "chromium)")]


@pytest.fixture
def server(tmp_path, database_url, queue_url, engine):
    env = kit_env(tmp_path / "instance", database_url, queue_url)
    invoicekit(env, "merchants", "add", "3333", "--name", "ACME Office GmbH", "--kyc-verified")
    invoicekit(env, "shops", "add", "woocommerce", "acme", "--merchant", "3333",
               "--secret", SECRET)
    invoicekit(env, "users", "add", "anna@acme.example", "--merchant", "3333",
               "--password", PASSWORD)
    port = free_port()
    process = start_serve(env, port, tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    raw = woo.body(woo.order(4711, status="processing"))
    answer = requests.post(f"{base}/webhooks/woocommerce/acme", data=raw,
                           headers=woo.headers(raw, SECRET, "order.created"), timeout=10)
    assert answer.status_code == 202, answer.text
    wait_until(lambda: " done " in invoicekit(env, "deliveries", "list"), timeout=60)
    with session_scope(engine) as session:  # a delivery that failed for good
        connection = session.scalars(select(ShopConnection)).one()
        session.add(Delivery(connection_id=connection.id, dedupe_key="dead-1",
                             topic="order.updated", shop_order_id="4711", headers={},
                             body=raw, status="dead", attempts=8,
                             error="gave up after 8 attempts: shop unreachable"))
    yield base
    stop_serve(process)


def shoot(page, name: str) -> None:
    folder = os.environ.get("INVOICEKIT_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_merchant_works_an_order_in_the_browser(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.goto(f"{server}/office/")
        expect(page).to_have_url(re.compile(r"/office/sign-in"))
        page.get_by_label("E-mail").fill("anna@acme.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        page.get_by_label("Search").fill("4711")
        page.get_by_role("button", name="Search").click()
        shoot(page, "office-orders")
        page.get_by_role("link", name="4711").click()
        expect(page.locator("#status")).to_have_text("authorised")
        expect(page.locator("#open")).to_have_text("549.73 EUR")

        page.get_by_role("link", name="Activate").click()
        page.get_by_role("button", name="Confirm: Activate").click()
        expect(page.locator("#status")).to_have_text("active")
        expect(page.locator("#timeline")).to_contain_text("operation activation")

        page.get_by_role("link", name="Partial cancellation").click()
        page.get_by_label("Reduce by (EUR)").fill("10.00")
        shoot(page, "office-confirm")
        page.get_by_role("button", name="Confirm: Partial cancellation").click()
        expect(page.locator("#open")).to_have_text("539.73 EUR")
        expect(page.locator("#timeline")).to_contain_text("operation partial_credit")
        shoot(page, "office-order")

        page.get_by_role("link", name="Failed deliveries").click()
        expect(page.locator("main")).to_contain_text("shop unreachable")
        shoot(page, "office-deliveries")
        page.get_by_label("sure").check()
        page.get_by_role("button", name="Replay").click()
        expect(page.locator(".flash")).to_contain_text("queued again")

        page.get_by_role("link", name="Statements").click()
        expect(page.locator("#chart")).to_be_visible()
        shoot(page, "office-statements")
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV").first.click()
        saved = download.value.path()
        assert download.value.suggested_filename.startswith("statement-3333-")
        assert Path(saved).read_text(encoding="utf-8").startswith("period_start,")
        browser.close()
