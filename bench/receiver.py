"""Receiver throughput: signed WooCommerce deliveries against a no-op endpoint, same server.

Posts distinct, signed ``order.updated`` deliveries (the exact WooCommerce wire format) from
several threads for a fixed time, then does the same against ``GET /livez`` (no database, no
queue), and prints requests per second and p50/p99 latency of both, with the ratio. Every
delivery counts only if answered 202; afterwards the stored deliveries are counted, so the
figures also check that every 2xx was stored (invariant I1).

Without ``--url`` it starts its own ``invoicekit serve`` in a temporary instance folder:

    python bench/receiver.py --seconds 10 --concurrency 8
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

TEMPLATE = json.loads((Path(__file__).with_name("woocommerce-order.json")).read_text())
SECRET = "bench-secret"


def woo_body(order_id: int) -> bytes:
    data = copy.deepcopy(TEMPLATE)
    data["id"], data["number"] = order_id, str(order_id)
    data["date_modified_gmt"] = "2026-11-02T09:15:00"
    return json.dumps(data, separators=(",", ":")).replace("/", "\\/").encode()


def woo_headers(body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return {"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "updated",
            "X-WC-Webhook-Signature": base64.b64encode(digest).decode(),
            "X-WC-Webhook-ID": "1", "User-Agent": "WooCommerce/10.5.2 Hookshot"}


class Load:
    """``concurrency`` threads sending requests for ``seconds``; latencies in ms."""

    def __init__(self, base: str, seconds: float, concurrency: int) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.seconds, self.concurrency = seconds, concurrency
        self.counter = iter(range(10**6, 10**9))
        self.lock = threading.Lock()

    def run(self, make_request) -> dict[str, float]:
        latencies: list[float] = []
        failures = [0]
        deadline = time.monotonic() + self.seconds

        def worker() -> None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            mine: list[float] = []
            while time.monotonic() < deadline:
                with self.lock:
                    n = next(self.counter)
                method, path, body, headers, expected = make_request(n)
                started = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == expected
                except OSError:
                    ok = False
                    conn.close()
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                mine.append((time.perf_counter() - started) * 1000)
                if not ok:
                    with self.lock:
                        failures[0] += 1
            conn.close()
            with self.lock:
                latencies.extend(mine)

        started = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(self.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        ordered = sorted(latencies)
        return {"requests": len(ordered), "failed": failures[0],
                "per_second": (len(ordered) - failures[0]) / elapsed,
                "p50": statistics.median(ordered) if ordered else 0.0,
                "p99": ordered[int(len(ordered) * 0.99) - 1] if ordered else 0.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "INVOICEKIT_HOME": str(home)}
    for name in ("INVOICEKIT_DATABASE_URL", "INVOICEKIT_QUEUE_URL"):
        env.pop(name, None)
    cli = [sys.executable, "-m", "webhooks.cli"]
    subprocess.run([*cli, "merchants", "add", "3333", "--name", "Bench GmbH"], env=env,
                   check=True, capture_output=True)
    subprocess.run([*cli, "shops", "add", "woocommerce", "bench", "--merchant", "3333",
                    "--secret", SECRET], env=env, check=True, capture_output=True)
    port = free_port()
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"{url}/livez", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server did not start; see {home / 'serve.log'}")


def stored_deliveries(home: Path) -> int:
    import sqlite3

    with sqlite3.connect(home / "invoicekit.db") as db:
        return db.execute("SELECT count(*) FROM deliveries").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="A running server (default: start one).")
    parser.add_argument("--shop", default="bench")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    home = None
    process = None
    url = args.url
    if url is None:
        home = Path(tempfile.mkdtemp(prefix="invoicekit-bench-"))
        process, url = start_server(home)
    try:
        load = Load(url, args.seconds, args.concurrency)
        noop = load.run(lambda n: ("GET", "/livez", None, {}, 200))
        path = f"/webhooks/woocommerce/{args.shop}"

        def delivery(n: int):
            body = woo_body(n)
            return "POST", path, body, woo_headers(body), 202

        deliveries = load.run(delivery)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)

    print(f"{args.concurrency} connections, {args.seconds:.0f} s per endpoint, {url}")
    print(f"{'endpoint':<34}{'requests':>9}{'non-2xx':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in (("GET /livez (no-op baseline)", noop), (f"POST {path}", deliveries)):
        print(f"{name:<34}{r['requests']:>9}{r['failed']:>9}{r['per_second']:>9.0f}"
              f"{r['p50']:>9.1f}{r['p99']:>9.1f}")
    print(f"deliveries per second as a share of the no-op rate: "
          f"{deliveries['per_second'] / noop['per_second']:.2f}")
    if home is not None:
        accepted = deliveries["requests"] - deliveries["failed"]
        print(f"accepted deliveries: {accepted}, stored: {stored_deliveries(home)}")


if __name__ == "__main__":
    main()
