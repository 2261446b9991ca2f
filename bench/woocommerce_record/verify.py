"""Check every recorded delivery: X-WC-Webhook-Signature == base64(HMAC-SHA256(raw body, secret)).

python bench/woocommerce_record/verify.py tests/fixtures/woocommerce/recordings
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from pathlib import Path


def main(directory: str) -> int:
    bad = checked = unsigned = 0
    for path in sorted(Path(directory).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        secret = doc["secret"].encode()
        for i, step in enumerate(doc["steps"]):
            for j, d in enumerate(step["deliveries"]):
                sig = d["headers"].get("X-WC-Webhook-Signature")
                raw = (
                    d["body"].encode("utf-8") if "body" in d else base64.b64decode(d["body_base64"])
                )
                if sig is None:
                    unsigned += 1  # the ping
                    continue
                want = base64.b64encode(hmac.new(secret, raw, hashlib.sha256).digest()).decode()
                checked += 1
                if not hmac.compare_digest(want, sig):
                    bad += 1
                    print(f"{path.name}: step {i} delivery {j}: signature does not verify")
    print(f"{checked} signed deliveries verified, {bad} bad, {unsigned} unsigned (pings)")
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/woocommerce/recordings"))
