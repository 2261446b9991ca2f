"""``invoicekit serve`` as a real process: a delivery stored but not yet processed survives
SIGKILL and is processed exactly once after the restart; a receiver killed while its batch
of deliveries is open (group commit) has answered none of them, and stored none."""

from __future__ import annotations

import json
import signal
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import trustme
from sqlalchemy import func, make_url, select

from core.ledger.models import Delivery
from servers import free_port, invoicekit, kit_env, start_serve, stop_serve, wait_until
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


@contextmanager
def inbox_writes_blocked(database_url: str) -> Iterator[None]:
    """Hold the ledger so that the receivers' batch waits in its transaction: SQLite's write
    lock from another connection, or on PostgreSQL an exclusive lock on the inbox's table
    (reads go on; the batch's first insert waits)."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"),
                                     isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
    else:
        connection = psycopg.connect(make_url(database_url).set(drivername="postgresql")
                                     .render_as_string(hide_password=False))
        connection.execute("LOCK TABLE deliveries IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


def post(port: int, raw: bytes) -> int | str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/woocommerce/acme",
                                     data=raw, headers=headers(raw, SECRET))
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except OSError as exc:  # the server died with the request open
        return type(exc).__name__


@pytest.mark.slow
def test_a_receiver_killed_with_a_batch_open_answered_2xx_for_nothing_unstored(
        tmp_path, database_url, queue_url, engine):
    env = kit_env(tmp_path / "instance", database_url, queue_url)
    invoicekit(env, "merchants", "add", "3333", "--name", "ACME Office GmbH",
               "--kyc-verified")
    invoicekit(env, "shops", "add", "woocommerce", "acme", "--merchant", "3333", "--secret",
               SECRET)
    raws = [body(order(4800 + n, status="processing")) for n in range(8)]
    port = free_port()
    log = tmp_path / "serve.log"
    server = start_serve(env, port, log)
    answers: list[int | str] = []
    try:
        with inbox_writes_blocked(database_url), ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(post, port, raw) for raw in raws]
            time.sleep(2)  # verified and parsed: every request waits for the open batch
            assert not any(future.done() for future in futures)
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
            answers = [future.result(30) for future in futures]
    finally:
        if server.poll() is None:
            server.kill()
    assert all(isinstance(answer, str) for answer in answers), answers  # no answer at all
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Delivery)) == 0

    server = start_serve(env, port, log)  # the shop sends them again: each is stored once
    try:
        assert [post(port, raw) for raw in raws] == [202] * 8
        wait_until(lambda: " pending " not in invoicekit(env, "deliveries", "list"), 60)
    finally:
        stop_serve(server)
    with engine.connect() as connection:
        statuses = connection.execute(select(Delivery.status, func.count())
                                      .group_by(Delivery.status)).all()
    assert statuses == [("done", 8)]
