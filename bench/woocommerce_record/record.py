"""Record what a real WooCommerce sends (webhooks) and answers (REST) for the invoicekit cases.

    python bench/woocommerce_record/record.py --wp /tmp/wp \
        --out tests/fixtures/woocommerce/recordings [--setup] [--case NAME ...]

It runs a capture server on 127.0.0.1 (``--port``, default 8099) that stores every request
byte for byte and answers 200 (or what a case asks for), then drives WooCommerce one step at a
time with ``php php/run_case.php`` (one PHP process per step = one admin request, so each
step's webhooks arrive at its end), and finally reads the order and its refunds back through
the REST API (OAuth 1.0a over plain http, which is what WooCommerce wants without TLS).
``--setup`` installs WordPress, activates WooCommerce and configures the shop first (see
README.md). Only the standard library is used.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHP_DIR = HERE / "php"
CASES_DIR = PHP_DIR / "cases"
RESULT_MARK = "@@RESULT@@"
# Headers to drop from recordings (none so far: every header WooCommerce sends is kept).
NOISE_HEADERS: set[str] = set()


# --------------------------------------------------------------------------------------------
# Capture server
# --------------------------------------------------------------------------------------------
class Recorder:
    def __init__(self, host: str, port: int) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.answer_status = 200
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status = recorder.answer_status
                with recorder.lock:
                    recorder.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": [(k, v) for k, v in self.headers.items()],
                            "body": body,
                            "answered": status,
                            "received_at": time.time(),
                        }
                    )
                payload = b"ok" if status == 200 else b"recorder says no"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_GET = _handle

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()

    def take(self) -> list[dict]:
        with self.lock:
            out, self.requests = self.requests, []
        return out


def delivery_json(req: dict) -> dict:
    headers = {k: v for k, v in req["headers"] if k.lower() not in NOISE_HEADERS}
    out: dict = {"method": req["method"], "path": req["path"], "headers": headers}
    try:
        out["body"] = req["body"].decode("utf-8")
    except UnicodeDecodeError:
        out["body_base64"] = base64.b64encode(req["body"]).decode()
    out["answered"] = req["answered"]
    return out


def verify_signature(delivery: dict, secret: str) -> bool | None:
    sig = delivery["headers"].get("X-WC-Webhook-Signature") or delivery["headers"].get(
        "X-Wc-Webhook-Signature"
    )
    if sig is None:
        return None
    raw = (
        delivery["body"].encode("utf-8")
        if "body" in delivery
        else base64.b64decode(delivery["body_base64"])
    )
    want = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(want, sig)


# --------------------------------------------------------------------------------------------
# REST client: WooCommerce's one-legged OAuth 1.0a for plain http
# (includes/class-wc-rest-authentication.php, check_oauth_signature)
# --------------------------------------------------------------------------------------------
def _enc(s: str) -> str:
    return urllib.parse.quote(str(s), safe="-._~")


class Rest:
    def __init__(self, home: str, key: str, secret: str) -> None:
        self.home = home.rstrip("/")
        self.key = key
        self.secret = secret

    def url(self, route: str) -> str:
        return f"{self.home}/wp-json{route}"

    def oauth_query(self, method: str, url: str, query: dict) -> dict:
        params = dict(query)
        params.update(
            {
                "oauth_consumer_key": self.key,
                "oauth_timestamp": str(int(time.time())),
                "oauth_nonce": secrets.token_hex(16),
                "oauth_signature_method": "HMAC-SHA256",
            }
        )
        pairs = sorted((_enc(k), _enc(v)) for k, v in params.items())
        base = "&".join([method.upper(), _enc(url), _enc("&".join(f"{k}={v}" for k, v in pairs))])
        sig = hmac.new(f"{self.secret}&".encode(), base.encode(), hashlib.sha256).digest()
        params["oauth_signature"] = base64.b64encode(sig).decode()
        return params

    def request(
        self,
        method: str,
        route: str,
        query: dict | None = None,
        body: dict | None = None,
        auth: str = "oauth",
        extra_headers: dict | None = None,
    ) -> tuple[int, dict, object]:
        route, _, qs = route.partition("?")
        url = self.url(route)
        query = {**dict(urllib.parse.parse_qsl(qs)), **(query or {})}
        headers = {"Accept": "application/json"}
        if auth == "oauth":
            query = self.oauth_query(method, url, query)
        elif auth == "basic":
            token = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif auth == "query":
            query.update({"consumer_key": self.key, "consumer_secret": self.secret})
        headers.update(extra_headers or {})
        full = url + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(full, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                status, resp_headers, raw = resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            status, resp_headers, raw = err.code, dict(err.headers.items()), err.read()
        try:
            parsed: object = json.loads(raw.decode("utf-8"))
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return status, resp_headers, parsed


# --------------------------------------------------------------------------------------------
# Driving PHP
# --------------------------------------------------------------------------------------------
def run_php(args: list[str], php: str, env: dict) -> dict:
    proc = subprocess.run([php, *args], capture_output=True, text=True, env=env, timeout=600)
    out = proc.stdout
    if proc.returncode != 0 or RESULT_MARK not in out:
        text = re.sub(r"<style.*?</style>|<[^>]+>", " ", out, flags=re.S)
        text = re.sub(r"\s+", " ", text).strip()
        raise RuntimeError(
            f"php {' '.join(args[:3])} failed ({proc.returncode}): "
            f"{text[-1500:]} {proc.stderr[-1500:]}"
        )
    return json.loads(out.rsplit(RESULT_MARK, 1)[1].strip().splitlines()[0])


def wait_quiet(recorder: Recorder, settle: float = 0.3) -> None:
    # Deliveries are synchronous (they happen before the PHP process exits); give the
    # capture threads a moment to finish storing.
    time.sleep(settle)


def versions(wp: Path) -> dict:
    wpv = re.search(
        r"\$wp_version = '([^']+)'", (wp / "wp-includes/version.php").read_text()
    ).group(1)
    wcv = re.search(
        r"\* Version: (\S+)", (wp / "wp-content/plugins/woocommerce/woocommerce.php").read_text()
    ).group(1)
    phpv = subprocess.run(
        ["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True
    ).stdout.strip()
    return {"woocommerce": wcv, "wordpress": wpv, "php": phpv}


def home_up(home: str) -> bool:
    try:
        urllib.request.urlopen(home.rstrip("/") + "/wp-json/", timeout=10).read()
        return True
    except urllib.error.HTTPError:
        return True
    except Exception:
        return False


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def order_rest(rest: Rest, order_id: int) -> dict:
    """GET the order, its refunds and each refund, keyed like 'GET /wc/v3/orders/12'."""
    out: dict = {}
    status, _, order = rest.request("GET", f"/wc/v3/orders/{order_id}")
    out[f"GET /wc/v3/orders/{order_id}"] = (
        order if status == 200 else {"status": status, "body": order}
    )
    status, _, refunds = rest.request("GET", f"/wc/v3/orders/{order_id}/refunds")
    out[f"GET /wc/v3/orders/{order_id}/refunds"] = (
        refunds if status == 200 else {"status": status, "body": refunds}
    )
    if status == 200:
        for refund in refunds:
            rid = refund["id"]
            s, _, one = rest.request("GET", f"/wc/v3/orders/{order_id}/refunds/{rid}")
            out[f"GET /wc/v3/orders/{order_id}/refunds/{rid}"] = (
                one if s == 200 else {"status": s, "body": one}
            )
    return out


KEEP_RESPONSE_HEADERS = ("content-type", "www-authenticate", "x-wp-total", "x-wp-totalpages")


def record_case(name: str, args, recorder: Recorder, rest: Rest, env: dict, meta: dict) -> dict:
    desc = run_php([str(PHP_DIR / "run_case.php"), str(args.wp), name, "describe"], args.php, env)
    state_file = Path(args.tmp) / f"state-{name}.json"
    hooks = meta["webhooks"]
    state_file.write_text(
        json.dumps(
            {
                "webhooks": hooks,
                "webhook_created": hooks.get("order.created"),
                "webhook_updated": hooks.get("order.updated"),
            }
        )
    )
    recorder.take()
    steps: list[dict] = []
    state: dict = {}

    def run_steps(which: list[tuple[int, dict]]) -> None:
        nonlocal state
        for i, step in which:
            recorder.answer_status = int(step.get("recorder_status", 200))
            try:
                res = run_php(
                    [str(PHP_DIR / "run_case.php"), str(args.wp), name, str(i), str(state_file)],
                    args.php,
                    env,
                )
            finally:
                wait_quiet(recorder)
                recorder.answer_status = 200
            state = res["state"]
            entry = {
                "action": step["action"],
                "deliveries": [delivery_json(r) for r in recorder.take()],
            }
            if res.get("result") not in (None, [], {}):
                entry["result"] = res["result"]
            if step.get("report_webhooks"):
                entry["webhooks_after"] = res.get("webhooks_after")
            steps.append(entry)

    indexed = list(enumerate(desc["steps"]))
    run_steps([(i, s) for i, s in indexed if not s.get("after_rest")])
    rest_answers: dict = {}
    for oid in state.get("orders", []):
        rest_answers.update(order_rest(rest, oid))
    for extra in desc.get("rest_extra") or []:
        method, route = extra.split(" ", 1)
        route = route.format(**{k: v for k, v in state.items() if not isinstance(v, (list, dict))})
        status, _headers, body = rest.request(method, route)
        rest_answers[f"{method} {route}"] = (
            body if status == 200 else {"status": status, "body": body}
        )
    run_steps([(i, s) for i, s in indexed if s.get("after_rest")])
    doc = {
        "case": name,
        "description": desc["description"],
        **meta["versions"],
        "secret": args.secret,
        "webhooks": meta["webhooks"],
        "orders": state.get("orders", []),
        "steps": steps,
        "rest": rest_answers,
    }
    return doc


def record_auth_case(args, rest: Rest, meta: dict) -> dict:
    """Case 12: what the REST API answers over plain http for each way of sending the key."""
    order_id = meta.get("some_order_id")
    route = f"/wc/v3/orders/{order_id}" if order_id else "/wc/v3/orders"
    answers = {}
    for label, auth in (
        ("basic auth", "basic"),
        ("consumer_key/consumer_secret in the query", "query"),
        ("no credentials", "none"),
        ("OAuth 1.0a query signature", "oauth"),
    ):
        status, headers, body = rest.request("GET", route, auth=auth)
        if auth == "oauth" and status == 200:
            body = {
                "id": body.get("id"),
                "status": body.get("status"),
                "note": "200 with the full order (abridged here)",
            }
        answers[f"GET {route} ({label}, http)"] = {
            "status": status,
            "headers": {k: v for k, v in headers.items() if k.lower() in KEEP_RESPONSE_HEADERS},
            "body": body,
        }
    return {
        "case": "rest-basic-auth-over-http",
        "description": (
            "The REST API over plain http (no TLS) with a valid read_write key: basic auth and "
            "query-string keys are refused, only OAuth 1.0a signing works. Keys are not recorded."
        ),
        **meta["versions"],
        "secret": args.secret,
        "webhooks": meta["webhooks"],
        "orders": [order_id] if order_id else [],
        "steps": [],
        "rest": answers,
    }


def setup(args, recorder: Recorder, env: dict) -> dict:
    wp = Path(args.wp)
    cfg = wp / "wp-config.php"
    if not cfg.exists():
        shutil.copy(HERE / "wp-config.template.php", cfg)
    mu = wp / "wp-content" / "mu-plugins"
    mu.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "mu-plugin" / "invoicekit-recording.php", mu / "invoicekit-recording.php")
    print(
        subprocess.run(
            [args.php, str(PHP_DIR / "install.php"), str(wp)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
    )
    recorder.take()
    proc = subprocess.run(
        [
            args.php,
            str(PHP_DIR / "configure.php"),
            str(wp),
            args.recorder_url,
            args.secret,
            args.state,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    print(proc.stdout[-2000:], proc.stderr[-2000:])
    proc.check_returncode()
    wait_quiet(recorder)
    state = json.loads(Path(args.state).read_text())
    pings = [delivery_json(r) for r in recorder.take()]
    return {"state": state, "pings": pings}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--wp", required=True, help="WordPress directory (with wp-content/plugins/woocommerce)"
    )
    ap.add_argument("--out", required=True, help="directory for the <case>.json recordings")
    ap.add_argument("--home", default="http://127.0.0.1:8080", help="the WordPress URL (php -S)")
    ap.add_argument("--port", type=int, default=8099, help="capture server port on 127.0.0.1")
    ap.add_argument("--secret", default="test-secret-recordings", help="webhook secret")
    ap.add_argument("--php", default="php")
    ap.add_argument(
        "--state", default="/tmp/wc-recording-state.json", help="setup state (API key, ids)"
    )
    ap.add_argument("--tmp", default="/tmp", help="where per-case state files go")
    ap.add_argument(
        "--setup", action="store_true", help="install/configure WordPress + WooCommerce first"
    )
    ap.add_argument(
        "--serve", action="store_true", help="start `php -S` for --home if nothing answers there"
    )
    ap.add_argument("--case", action="append", help="record only these cases (default: all)")
    args = ap.parse_args()
    args.wp = Path(args.wp).resolve()
    args.recorder_url = f"http://127.0.0.1:{args.port}/webhooks/woocommerce"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, WC_REC_HOME=args.home)

    server = None
    if not home_up(args.home):
        if not args.serve:
            print(
                f"nothing answers at {args.home}; start `php -S` there or pass --serve",
                file=sys.stderr,
            )
            return 2
        hp = urllib.parse.urlparse(args.home)
        server = subprocess.Popen(
            [args.php, "-S", f"{hp.hostname}:{hp.port or 80}", "-t", str(args.wp)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(50):
            if home_up(args.home):
                break
            time.sleep(0.2)

    recorder = Recorder("127.0.0.1", args.port)
    recorder.start()
    failed: list[tuple[str, str]] = []
    try:
        vers = versions(args.wp)
        if args.setup:
            res = setup(args, recorder, env)
            ping_doc = {
                "case": "webhook-ping",
                "description": (
                    "Creating the order.created and order.updated webhooks through "
                    "POST /wc/v3/webhooks: "
                    "WooCommerce pings the delivery URL once per webhook."
                ),
                **vers,
                "secret": args.secret,
                "webhooks": res["state"]["webhooks"],
                "orders": [],
                "steps": [
                    {
                        "action": "POST /wc/v3/webhooks twice (order.created, order.updated), "
                        "status active",
                        "deliveries": res["pings"],
                    }
                ],
                "rest": {
                    f"POST /wc/v3/webhooks ({topic})": body
                    for topic, body in res["state"].get("webhook_rest", {}).items()
                },
            }
            write_json(out / "webhook-ping.json", ping_doc)
        state = json.loads(Path(args.state).read_text())
        meta = {"versions": vers, "webhooks": state["webhooks"]}
        rest = Rest(args.home, state["consumer_key"], state["consumer_secret"])
        names = args.case or sorted(p.stem for p in CASES_DIR.glob("*.php"))
        for name in names:
            if name == "rest-basic-auth-over-http":
                continue
            t0 = time.time()
            try:
                doc = record_case(name, args, recorder, rest, env, meta)
            except Exception as err:  # keep going; report at the end
                failed.append((name, str(err)[:2000]))
                print(f"FAILED {name}: {err}", file=sys.stderr)
                continue
            bad = [
                (i, j)
                for i, s in enumerate(doc["steps"])
                for j, d in enumerate(s["deliveries"])
                if verify_signature(d, args.secret) is False
            ]
            if bad:
                failed.append((name, f"signature mismatch in deliveries {bad}"))
            write_json(out / f"{name}.json", doc)
            if doc["orders"]:
                meta["some_order_id"] = doc["orders"][0]
            n = sum(len(s["deliveries"]) for s in doc["steps"])
            print(
                f"recorded {name}: {len(doc['steps'])} steps, {n} deliveries "
                f"({time.time() - t0:.1f}s)"
            )
        if not args.case or "rest-basic-auth-over-http" in args.case:
            write_json(out / "rest-basic-auth-over-http.json", record_auth_case(args, rest, meta))
            print("recorded rest-basic-auth-over-http")
    finally:
        recorder.stop()
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
    for name, why in failed:
        print(f"FAILED {name}: {why}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
