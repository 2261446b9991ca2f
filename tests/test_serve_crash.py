"""``invoicekit serve`` as a real process: a delivery stored but not yet processed survives
SIGKILL and is processed exactly once after the restart."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from servers import free_port, invoicekit, kit_env, start_serve, wait_until
from woo import body, headers, order, with_refund

SECRET = "crash-test-secret"
REFUND = {"id": 5001, "amount": "83.30", "reason": "", "line_items": [
    {"id": 9001, "quantity": -2, "total": "-70.00", "total_tax": "-13.30",
     "meta_data": [{"id": 1, "key": "_refunded_item_id", "value": "103"}]}]}


class Shop:
    """The shop's REST API over HTTPS (WooCommerce takes keys only over HTTPS; the kit
    trusts the test CA through ``REQUESTS_CA_BUNDLE``): stalls until ``open`` is set, as a
    hung shop would."""

    def __init__(self, ca_file: Path) -> None:
        self.open = threading.Event()
        self.requests = 0
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                shop.requests += 1
                if not shop.open.wait(timeout=60):
                    return
                payload = json.dumps([REFUND]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        ca.cert_pem.write_to_path(str(ca_file))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.slow
def test_stored_delivery_survives_sigkill(tmp_path, database_url, queue_url, engine):
    shop = Shop(tmp_path / "ca.pem")
    env = kit_env(tmp_path / "instance", database_url, queue_url)
    env["REQUESTS_CA_BUNDLE"] = str(tmp_path / "ca.pem")
    invoicekit(env, "merchants", "add", "3333", "--name", "ACME Office GmbH",
               "--kyc-verified")
    invoicekit(env, "shops", "add", "woocommerce", "acme", "--merchant", "3333", "--secret",
               SECRET, "--rest-url", shop.url, "--consumer-key", "ck", "--consumer-secret", "cs")
    port = free_port()
    log = tmp_path / "serve.log"
    server = start_serve(env, port, log)
    try:
        data = with_refund(order(status="completed"), 5001, "83.30", "2026-11-05T08:30:00")
        raw = body(data)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/woocommerce/acme",
                                         data=raw, headers=headers(raw, SECRET))
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
        wait_until(lambda: shop.requests >= 1)  # processing has started and hangs on the shop
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()

    listing = invoicekit(env, "deliveries", "list")
    assert " pending " in listing  # stored, not processed: nothing of it was committed
    missing = subprocess.run([sys.executable, "-m", "webhooks.cli", "orders", "show", "acme",
                              "4711"], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "has no order" in missing.stderr

    shop.open.set()
    server = start_serve(env, port, log)
    try:
        def processed() -> bool:
            listing = invoicekit(env, "deliveries", "list")
            return " done " in listing
        wait_until(processed)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    shown = json.loads(invoicekit(env, "orders", "show", "acme", "4711", "--json"))
    assert [(op["kind"], op["amount"], op["status"]) for op in shown["operations"]] == [
        ("placement", "549.73", "succeeded"), ("activation", "549.73", "succeeded"),
        ("return", "83.30", "succeeded")]
    assert shown["open"] == "466.43"
    listing = invoicekit(env, "deliveries", "list")
    assert listing.count("done") == 1
