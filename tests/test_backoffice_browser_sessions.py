"""Back-office sessions against a real ``invoicekit serve``: the browser's session cookie,
copied into a plain HTTP client, works while the session runs and stops working when the
user signs out, and (a second sign-in) when the password is changed on the command line.

Skipped where /usr/bin/chromium is missing, unless INVOICEKIT_REQUIRE_BROWSER is set."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from servers import free_port, invoicekit, kit_env, start_serve, stop_serve

CHROMIUM = Path("/usr/bin/chromium")
EMAIL, PASSWORD, NEW = "anna@acme.example", "correct horse battery", "a brand new passphrase"

pytestmark = pytest.mark.slow
if not CHROMIUM.exists() and not os.environ.get("INVOICEKIT_REQUIRE_BROWSER"):
    pytestmark = [pytestmark, pytest.mark.skip(reason="no /usr/bin/chromium (apt install "
                                                      "chromium)")]


@pytest.fixture
def server(tmp_path, database_url, queue_url, engine):
    env = kit_env(tmp_path / "instance", database_url, queue_url)
    invoicekit(env, "merchants", "add", "3333", "--name", "ACME Office GmbH", "--kyc-verified")
    invoicekit(env, "users", "add", EMAIL, "--merchant", "3333", "--password", PASSWORD)
    port = free_port()
    process = start_serve(env, port, tmp_path / "serve.log")
    yield f"http://127.0.0.1:{port}", env
    stop_serve(process)


def sign_in(page, base: str, password: str) -> requests.Session:
    """Sign in with the browser; a plain HTTP client holding a copy of its session cookie."""
    from playwright.sync_api import expect

    page.goto(f"{base}/office/")
    expect(page).to_have_url(re.compile(r"/office/sign-in"))
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/office/orders"))
    copy = requests.Session()
    for cookie in page.context.cookies():
        copy.cookies.set(cookie["name"], cookie["value"], domain=cookie["domain"],
                         path=cookie["path"])
    return copy


def signed_in(copy: requests.Session, base: str) -> bool:
    answer = copy.get(f"{base}/office/orders", allow_redirects=False, timeout=10)
    assert answer.status_code in (200, 302)
    return answer.status_code == 200 and EMAIL in answer.text


def test_a_copied_session_cookie_ends_with_sign_out_and_a_password_change(server):
    from playwright.sync_api import expect, sync_playwright

    base, env = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        copy = sign_in(page, base, PASSWORD)
        assert signed_in(copy, base)
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/office/sign-in"))
        assert not signed_in(copy, base)

        copy = sign_in(page, base, PASSWORD)
        assert signed_in(copy, base)
        changed = subprocess.run(
            [sys.executable, "-m", "webhooks.cli", "users", "password", EMAIL,
             "--password-stdin"], env=env, input=f"{NEW}\n", capture_output=True, text=True,
            timeout=60)
        assert changed.returncode == 0, changed.stderr
        assert "1 session(s) ended" in changed.stdout and NEW not in changed.stdout
        assert not signed_in(copy, base)
        page.reload()
        expect(page).to_have_url(re.compile(r"/office/sign-in"))  # the browser too
        sign_in(page, base, NEW)
        browser.close()
