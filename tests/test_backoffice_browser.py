"""The back office in a real browser: Playwright driving Debian's Chromium against a real
``invoicekit serve``. Sign in, find the order a signed webhook created among more than a
page of orders, see its lines and the actions its state allows, activate it, type a
cancellation above what is open (the form comes back with the error), cancel 10,00 of it,
see the open amount and the timeline change, be refused an action that does not apply,
export the list, replay a dead delivery, see the after-sales call with the buyer's phone,
the statements chart and the shops' drift and dead write-backs, and download a statement:
on a desktop viewport and again on a 390 px phone, where no page may be wider than the
screen (tables scroll in their ``.scroll`` wrappers).

Skipped where /usr/bin/chromium is missing, unless INVOICEKIT_REQUIRE_BROWSER is set (CI
installs Chromium and sets it). With INVOICEKIT_SCREENSHOTS=DIR the pages are saved there
(docs/screenshots holds the ones of the docs)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

import woo
from core.execute import process_snapshot
from core.ledger.db import session_scope
from core.ledger.models import (
    Delivery,
    DunningStep,
    Order,
    OrderDrift,
    Receivable,
    ShopConnection,
    WriteBackRecord,
)
from core.schemas import load_snapshot
from orders import order_data
from servers import free_port, invoicekit, kit_env, start_serve, stop_serve, wait_until

CHROMIUM = Path("/usr/bin/chromium")
SECRET = "wc-browser-secret"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.slow
if not CHROMIUM.exists() and not os.environ.get("INVOICEKIT_REQUIRE_BROWSER"):
    pytestmark = [pytestmark, pytest.mark.skip(reason="no /usr/bin/chromium (apt install "
                                                      "chromium)")]


@pytest.fixture
def server(tmp_path, database_url, queue_url, engine, hooks):
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
    for n in range(52):  # more than a page of orders
        data = order_data(f"30{n:02d}", discounts=[])
        data["buyer"]["company"] = f"Kunde {n} GmbH"
        process_snapshot(engine, hooks, load_snapshot(data))
    with session_scope(engine) as session:  # the shop and the ledger disagree
        connection = session.scalars(select(ShopConnection)).one()
        order = session.scalars(select(Order).where(Order.shop_order_id == "3000")).one()
        session.add(OrderDrift(connection_id=connection.id, shop_order_id="3000",
                               order_number="3000", key="status_differs",
                               kind="status_differs", shop="completed", kit="declined",
                               seen=4, first_seen_at=datetime(2026, 12, 1, 7, 5, tzinfo=UTC)))
        session.add(WriteBackRecord(
            connection_id=connection.id, order_id=order.id, event="declined",
            note="Invoice payment declined.", values={}, idempotency_key="browser-wb",
            status="dead", attempts=8, created_at=datetime(2026, 12, 1, 7, 5, tzinfo=UTC),
            error="gave up after 8 attempts: the shop answered 401 (REST key revoked)"))
    yield base
    stop_serve(process)


def shoot(page, name: str) -> None:
    folder = os.environ.get("INVOICEKIT_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


# what sticks out of the viewport, outside the horizontally scrolling table wrappers
FITS = """() => ({
  wide: document.documentElement.scrollWidth - window.innerWidth,
  loose: [...document.querySelectorAll('main table')].filter(t => !t.closest('.scroll'))
         .length,
  cut: [...document.querySelectorAll('header *, main *')].filter(e => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && (r.right > window.innerWidth + 1 || r.left < -1)
             && !e.closest('.scroll');
    }).map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 40)),
})"""


def fits(page) -> None:
    """Nothing on the page is wider than the viewport or cut off; tables scroll in their
    wrappers."""
    found = page.evaluate(FITS)
    assert found == {"wide": 0, "loose": 0, "cut": []}, (page.url, found)


def sign_in(page, server: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server}/office/")
    expect(page).to_have_url(re.compile(r"/office/sign-in"))
    fits(page)
    page.get_by_label("E-mail").fill("anna@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_merchant_works_an_order_in_the_browser(server, engine):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        sign_in(page, server)

        expect(page.locator("#orders tbody tr")).to_have_count(50)  # a page, and more
        expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
        fits(page)
        shoot(page, "office-orders")
        with page.expect_download() as download:
            page.get_by_role("link", name="Export CSV").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
        assert exported[0].startswith("order_number,") and len(exported) == 54
        page.get_by_role("link", name="Older →").click()
        expect(page.locator("#orders tbody tr")).to_have_count(3)
        page.get_by_label("Search").fill("4711")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name="4711").click()
        expect(page.locator("#status")).to_have_text("authorised")
        expect(page.locator("#open")).to_have_text("549.73 EUR")
        expect(page.locator("#lines")).to_contain_text("Office chair")
        expect(page.locator("#actions .button")).to_have_text(
            ["Activate", "Partial cancellation", "Cancel", "Retry dead operations"])
        fits(page)

        page.get_by_role("link", name="Activate").click()
        page.get_by_role("button", name="Confirm: Activate").click()
        expect(page.locator("#status")).to_have_text("active")
        expect(page.locator("#timeline")).to_contain_text("operation activation")
        expect(page.get_by_role("link", name="Activate")).to_have_count(0)
        order_url = page.url

        page.get_by_role("link", name="Partial cancellation").click()
        page.get_by_label("Reduce by (EUR)").fill("600,00")
        page.get_by_role("button", name="Confirm: Partial cancellation").click()
        expect(page.locator("#error")).to_contain_text("at most 549.73 EUR is open")
        expect(page.get_by_label("Reduce by (EUR)")).to_have_value("600,00")
        fits(page)
        shoot(page, "office-confirm-error")
        page.get_by_label("Reduce by (EUR)").fill("10,00")
        shoot(page, "office-confirm")
        page.get_by_role("button", name="Confirm: Partial cancellation").click()
        expect(page.locator("#open")).to_have_text("539.73 EUR")
        expect(page.locator("#timeline")).to_contain_text("operation partial_credit")
        fits(page)
        shoot(page, "office-order")

        page.goto(order_url + "/confirm/resume-dunning")  # not offered: dunning runs
        expect(page.locator("#error")).to_contain_text(
            "Resume dunning is not possible for order 4711: dunning is not stopped.")
        fits(page)
        shoot(page, "office-error")
        page.locator("#back").click()
        expect(page).to_have_url(order_url)

        page.get_by_role("link", name="Failed deliveries").click()
        expect(page.locator("main")).to_contain_text("shop unreachable")
        fits(page)
        shoot(page, "office-deliveries")
        page.get_by_label("sure").check()
        page.get_by_role("button", name="Replay").click()
        expect(page.locator(".flash")).to_contain_text("queued again")

        with session_scope(engine) as session:  # the day-1 after-sales call is due
            receivable = session.scalars(select(Receivable)).one()
            session.add(DunningStep(receivable_id=receivable.id, step_id="call",
                                    action="call", channel="call", status="open",
                                    scheduled_on=receivable.issued_on,
                                    taken_on=receivable.issued_on))
        page.get_by_role("link", name="Receivables").click()
        expect(page.locator("#calls")).to_contain_text("030 123")
        fits(page)
        shoot(page, "office-receivables")

        page.get_by_role("link", name="Statements").click()
        expect(page.locator("#chart")).to_be_visible()
        expect(page.locator("#chart")).to_contain_text("open 539.73 EUR")  # due in 30 days
        fits(page)
        shoot(page, "office-statements")
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV").first.click()
        saved = download.value.path()
        assert download.value.suggested_filename.startswith("statement-3333-")
        assert Path(saved).read_text(encoding="utf-8").startswith("period_start,")

        page.get_by_role("link", name="Shops").click()
        expect(page.locator("#drift")).to_contain_text("status differs")
        expect(page.locator("#writebacks")).to_contain_text("REST key revoked")
        fits(page)
        shoot(page, "office-shops")

        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                                 has_touch=True, device_scale_factor=2)
        sign_in(phone, server)
        for path, name in (("/office/orders", "office-phone-orders"),
                           (order_url.removeprefix(server), "office-phone-order"),
                           (order_url.removeprefix(server) + "/confirm/reduce", None),
                           (order_url.removeprefix(server) + "/confirm/return", None),
                           (order_url.removeprefix(server) + "/confirm/resume-dunning", None),
                           ("/office/deliveries", None), ("/office/receivables", None),
                           ("/office/payments", None), ("/office/statements", None),
                           ("/office/shops", "office-phone-shops")):
            phone.goto(server + path)
            expect(phone.locator("main h1")).to_be_visible()
            fits(phone)
            if name:
                shoot(phone, name)
        browser.close()
