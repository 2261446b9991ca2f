"""Keep what the real WordPress sent to invoicekit in a run of ``run.py`` as test fixtures.

The run's mu-plugin writes every request to invoicekit with its answer to
``/tmp/invoicekit-e2e-http/``. This picks the plugin's connect call, its distinct
eligibility questions, and WooCommerce's webhook deliveries of the two orders paid with the
plugin (the block checkout's and the classic checkout's), replaces what is secret (the
connection code, the REST key, the webhook secret and signature, the API key) with
placeholders and writes one JSON file per recording to
``tests/fixtures/woocommerce/plugin/``. ``tests/test_woocommerce_plugin_recordings.py``
replays them.

Usage: python recordings.py [--source /tmp/invoicekit-e2e-http] [--extra FILE ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "woocommerce" / "plugin"
SECRET_HEADERS = {"X-WC-Webhook-Signature"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path("/tmp/invoicekit-e2e-http"))
    parser.add_argument("--extra", type=Path, nargs="*", default=[],
                        help="more recordings to keep as they are named (e.g. an error)")
    args = parser.parse_args()
    records = [json.loads(p.read_text()) for p in sorted(args.source.glob("*.json"))]
    TARGET.mkdir(parents=True, exist_ok=True)
    kept: dict[str, dict[str, Any]] = {}
    connect = next(r for r in records if r["url"].endswith("/api/v1/connect"))
    kept["connect"] = _redacted_connect(connect)
    questions: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["url"].endswith("/api/v1/eligibility") and record["status"] == 200:
            questions.setdefault(record["body"], record)
    for number, record in enumerate(questions.values(), 1):
        kept[f"eligibility-{number}"] = _plain(record)
    for record in records:
        if "/webhooks/woocommerce/" not in record["url"] or record["status"] not in (200, 202) \
                or not isinstance(record["headers"], dict):  # a ping: a form body
            continue
        order = json.loads(record["body"])
        if order.get("payment_method") != "invoicekit":
            continue
        topic = record["headers"]["X-WC-Webhook-Topic"].replace(".", "-")
        kept.setdefault(f"webhook-{order['id']}-{topic}-{order['status']}", _plain(record))
    for path in args.extra:
        kept[path.stem] = _plain(json.loads(path.read_text()))
    for name, record in kept.items():
        (TARGET / f"{name}.json").write_text(
            json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"{TARGET.name}/{name}.json")


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A recording without secrets; the answer decoded where it is JSON."""
    headers = {k: ("<redacted>" if k in SECRET_HEADERS else v)
               for k, v in (record["headers"] or {}).items()}
    try:
        answer = json.loads(record["answer"])
    except (TypeError, ValueError):
        answer = record["answer"]
    return {"method": record["method"], "path": record["url"].split(":8000", 1)[-1],
            "headers": headers, "body": record["body"], "status": record["status"],
            "answer": answer}


def _redacted_connect(record: dict[str, Any]) -> dict[str, Any]:
    plain = _plain(record)
    body = json.loads(plain["body"])
    body.update(code="<code>", consumer_key="ck_" + "0" * 40, consumer_secret="cs_" + "0" * 40)
    plain["body"] = json.dumps(body)
    plain["answer"].update(webhook_secret="<redacted>", api_key="<redacted>")
    return plain


if __name__ == "__main__":
    main()
