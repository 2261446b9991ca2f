"""Drive a real WordPress + WooCommerce with the plugin against a real ``invoicekit serve``:
install the zip, connect with a one-time code, a B2B checkout approved, a consumer declined,
the invoice activated in the shop's admin and the payment block on the thank-you page.
Screenshots go to ``--shots``. See README.md here for the set-up this expects.

Usage: python run.py --zip dist/invoicekit-for-woocommerce-1.0.0.zip --code XXXX-XXXX-XXXX-XXXX
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
BUYER = {"first_name": "Erika", "last_name": "Muster", "address_1": "Hauptstraße 5",
         "postcode": "10115", "city": "Berlin"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shop", default="https://127.0.0.1:8443")
    parser.add_argument("--kit", default="http://127.0.0.1:8000")
    parser.add_argument("--zip", type=Path, required=True)
    parser.add_argument("--code", help="from invoicekit shops connect-code")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="admin-password-1")
    parser.add_argument("--shots", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--connected", action="store_true",
                        help="the plugin is installed and connected already: only the orders")
    args = parser.parse_args()
    args.shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        admin = _page(browser)
        sign_in(admin, args)
        if not args.connected:
            install(admin, args)
            connect(admin, args)
            enable_gateway(admin, args)
        order = checkout_approved(_page(browser), args)
        checkout_declined(_page(browser), args)
        checkout_declined_in_german(_page(browser), args)
        activate(admin, args, order)
        thank_you(_page(browser), args, order)
        payment_mail(_page(browser), args, order)
        customer = _page(browser)
        classic = checkout_classic(customer, args)
        activate(admin, args, classic, shot_name=None)
        my_account(customer, args, classic)
        settings(admin, args)
        if not args.connected:
            webhooks(admin, args)
            disconnect(admin, args)
        browser.close()
    print(json.dumps({"order": order["id"], "shots": sorted(p.name for p in args.shots.glob(
        "woocommerce-plugin-*.png"))}, indent=1))


def _page(browser: Browser) -> Page:
    context = browser.new_context(ignore_https_errors=True, locale="en-GB",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


def shot(page: Page, args: argparse.Namespace, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(args.shots / f"woocommerce-plugin-{name}.png"),
                    full_page=full_page)
    print("screenshot", name)


def sign_in(page: Page, args: argparse.Namespace) -> None:
    page.goto(f"{args.shop}/wp-login.php")
    page.fill("#user_login", args.user)
    page.fill("#user_pass", args.password)
    page.click("#wp-submit")
    page.wait_for_url(re.compile(r"/wp-admin/"))


def install(page: Page, args: argparse.Namespace) -> None:
    """Plugins → Add New → Upload Plugin, then Activate."""
    page.goto(f"{args.shop}/wp-admin/plugin-install.php?tab=upload")
    page.set_input_files("#pluginzip", str(args.zip))
    page.click("#install-plugin-submit")
    page.wait_for_selector("text=Plugin installed successfully")
    shot(page, args, "installed")
    page.click("a:has-text('Activate Plugin')")
    page.wait_for_selector("text=Plugin activated")


def connect(page: Page, args: argparse.Namespace) -> None:
    """WooCommerce → invoicekit: the URL and the one-time code, Connect."""
    page.goto(f"{args.shop}/wp-admin/admin.php?page=invoicekit")
    page.fill("#invoicekit_url", args.kit)
    page.fill("#invoicekit_code", args.code)
    shot(page, args, "connect")
    page.click("form:has(#invoicekit_code) [type=submit]")
    page.wait_for_load_state("networkidle")
    expect(page.locator("text=Disconnect").first).to_be_visible()


def enable_gateway(page: Page, args: argparse.Namespace) -> None:
    page.goto(f"{args.shop}/wp-admin/admin.php?page=wc-settings&tab=checkout"
              "&section=invoicekit")
    box = page.locator("#woocommerce_invoicekit_enabled")
    if not box.is_checked():
        box.check()
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    shot(page, args, "gateway")


def _fill_block_checkout(page: Page, args: argparse.Namespace, *, company: str,
                         legal_form: str | None, vat_id: str | None, email: str) -> None:
    page.goto(f"{args.shop}/?add-to-cart=" + _product_id(args, "CHAIR-1"))
    page.goto(f"{args.shop}/checkout/")
    page.wait_for_selector("#email")
    page.fill("#email", email)
    for field, value in BUYER.items():
        page.fill(f"#shipping-{field}", value)
    if company:
        page.fill("#shipping-company", company)
    if legal_form:
        page.select_option("#shipping-invoicekit-legal-form", legal_form)
    if vat_id:
        page.fill("#shipping-invoicekit-vat-id", vat_id)
    page.locator("#shipping-city").blur()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # the Store API updates the customer, then the methods


def _product_id(args: argparse.Namespace, sku: str) -> str:
    return _wp_eval(args, f"echo wc_get_product_id_by_sku('{sku}');")


def _wp_eval(args: argparse.Namespace, php: str) -> str:
    """Read something from the shop's database through WordPress (only for this run)."""
    script = ("$_SERVER['HTTP_HOST']='127.0.0.1:8443'; require getenv('WP_DIR').'/wp-load.php'; "
              + php)
    return subprocess.run(["php", "-r", script], capture_output=True, text=True,
                          check=True, env={"WP_DIR": "/tmp/wp", "PATH": "/usr/bin:/bin"}
                          ).stdout.strip()


def deliver_webhooks(args: argparse.Namespace) -> None:
    """What WP-Cron does every minute on a real shop: run Action Scheduler's queue, which
    sends the queued webhooks (WooCommerce delivers them asynchronously)."""
    _wp_eval(args, "do_action('action_scheduler_run_queue', 'WP Cron');")


def _choose_invoice(page: Page) -> None:
    page.get_by_label(re.compile("Purchase on account")).first.check()


def _place(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Place order", re.I)).click()


def checkout_approved(page: Page, args: argparse.Namespace) -> dict[str, str]:
    _fill_block_checkout(page, args, company="Muster Bürobedarf", legal_form="GmbH",
                         vat_id="DE136695976", email="einkauf@muster-buero.example")
    _choose_invoice(page)
    page.wait_for_timeout(500)
    shot(page, args, "checkout")
    _place(page)
    return _placed(page, args, "GmbH", shot_name="thank-you-placed")


def _placed(page: Page, args: argparse.Namespace, legal_form: str,
            shot_name: str | None = None) -> dict[str, str]:
    """The thank-you page of an order placed on account: its webhooks go out, and the order
    carries the legal form and VAT ID where invoicekit reads them."""
    page.wait_for_url(re.compile(r"order-received/(\d+)"))
    number = re.search(r"order-received/(\d+)", page.url).group(1)
    if shot_name:
        shot(page, args, shot_name)
    deliver_webhooks(args)
    saved = _wp_eval(args, f"$o = wc_get_order({number}); echo $o->get_meta('_billing_legal_form'),"
                           " '|', $o->get_meta('_billing_vat_id'), '|', $o->get_payment_method();")
    if saved != f"{legal_form}|DE136695976|invoicekit":
        raise SystemExit(f"order {number} was saved with {saved!r}")
    return {"id": number, "url": page.url}


def checkout_declined(page: Page, args: argparse.Namespace, name: str = "declined") -> str:
    """A consumer (no company) chooses purchase on account: refused with the reason."""
    _fill_block_checkout(page, args, company="", legal_form=None, vat_id=None,
                         email="erika@example.net")
    _choose_invoice(page)
    _place(page)
    error = page.wait_for_selector(".wc-block-components-notice-banner.is-error")
    page.wait_for_timeout(500)
    shot(page, args, name)
    return error.inner_text()


def checkout_declined_in_german(page: Page, args: argparse.Namespace) -> None:
    """The same for a buyer whose language is German: the plugin's German sentence."""
    page.context.add_cookies([{"name": "e2e_locale", "value": "de_DE", "url": args.shop}])
    text = checkout_declined(page, args, "declined-de")
    if "nur für Unternehmen" not in text:
        raise SystemExit(f"the decline is not in German: {text!r}")


def checkout_classic(page: Page, args: argparse.Namespace) -> dict[str, str]:
    """A registered business customer in the classic (shortcode) checkout."""
    page.goto(f"{args.shop}/my-account/")
    page.fill("#username", "einkauf")
    page.fill("#password", "customer-password-1")
    page.click("button[name=login]")
    page.wait_for_selector("text=Log out")
    for sku in ("LAMP-1", "BOOK-1"):
        page.goto(f"{args.shop}/?add-to-cart=" + _product_id(args, sku))
    page.goto(f"{args.shop}/classic-checkout/")
    page.fill("#billing_company", "Beispiel Handel")
    page.select_option("#billing_legal_form", "UG (haftungsbeschränkt)")
    page.fill("#billing_vat_id", "DE136695976")
    page.fill("#billing_address_1", "Marktplatz 3")
    page.fill("#billing_postcode", "80331")
    page.fill("#billing_city", "München")
    page.locator("#billing_city").blur()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # update_order_review: the methods for this buyer
    page.check("#payment_method_invoicekit")
    shot(page, args, "classic-checkout")
    page.click("#place_order")
    return _placed(page, args, "UG (haftungsbeschränkt)")


def my_account(page: Page, args: argparse.Namespace, order: dict[str, str]) -> None:
    """My account → Orders → View: the payment details."""
    page.goto(f"{args.shop}/my-account/view-order/{order['id']}/")
    page.wait_for_selector("text=IBAN")
    shot(page, args, "my-account")


def activate(page: Page, args: argparse.Namespace, order: dict[str, str],
             shot_name: str | None = "order-admin") -> None:
    """The merchant completes the order: invoicekit issues the invoice and writes it back."""
    page.goto(f"{args.shop}/wp-admin/admin.php?page=wc-orders&action=edit&id={order['id']}")
    page.select_option("#order_status", "wc-completed")
    page.click("button.save_order")
    page.wait_for_load_state("networkidle")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        deliver_webhooks(args)
        ids = _wp_eval(args, f"echo wc_get_order({order['id']})->get_meta("
                             "'invoicekit_invoice_ids');")
        if ids:
            break
        time.sleep(1)
    else:
        raise SystemExit("invoicekit did not write the invoice back within 60 s")
    if shot_name:
        page.reload()
        shot(page, args, shot_name)


MAIL = Path("/tmp/invoicekit-e2e-mail")  # where the run's mu-plugin writes every e-mail


def payment_mail(page: Page, args: argparse.Namespace, order: dict[str, str]) -> None:
    """The order details e-mail the plugin sends once the invoice is written back."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mails = [m for m in sorted(MAIL.glob("*.html")) if f"order-{order['id']}" in m.name
                 and "details" in m.name]
        if mails:
            break
        time.sleep(1)
    else:
        raise SystemExit("no order details e-mail with the payment details within 30 s")
    page.goto(mails[-1].as_uri())
    page.wait_for_selector("text=IBAN")
    shot(page, args, "email")


def thank_you(page: Page, args: argparse.Namespace, order: dict[str, str]) -> None:
    page.goto(order["url"])
    page.wait_for_selector("text=IBAN")
    shot(page, args, "thank-you")


def settings(page: Page, args: argparse.Namespace) -> None:
    deliver_webhooks(args)
    time.sleep(2)  # invoicekit processes what arrived
    page.goto(f"{args.shop}/wp-admin/admin.php?page=invoicekit")
    page.wait_for_load_state("networkidle")
    shot(page, args, "settings")


def webhooks(page: Page, args: argparse.Namespace) -> None:
    """What Connect made, in WooCommerce's own settings."""
    page.goto(f"{args.shop}/wp-admin/admin.php?page=wc-settings&tab=advanced&section=webhooks")
    page.wait_for_selector("text=invoicekit order created")
    shot(page, args, "webhooks", full_page=False)


def disconnect(page: Page, args: argparse.Namespace) -> None:
    """Disconnect: the webhooks and the REST key are gone, invoicekit revoked the key."""
    page.goto(f"{args.shop}/wp-admin/admin.php?page=invoicekit")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disconnect").click()
    page.wait_for_selector("#invoicekit_code")
    left = _wp_eval(args, "global $wpdb; echo $wpdb->get_var(\"SELECT COUNT(*) FROM "
                          "{$wpdb->prefix}wc_webhooks WHERE name LIKE 'invoicekit%'\"), ' ', "
                          "$wpdb->get_var(\"SELECT COUNT(*) FROM {$wpdb->prefix}"
                          "woocommerce_api_keys WHERE description = 'invoicekit'\");")
    if left != "0 0":
        raise SystemExit(f"disconnect left webhooks and REST keys behind: {left}")
    print("disconnected: no webhook and no REST key left")


if __name__ == "__main__":
    main()
