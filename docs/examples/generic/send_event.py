"""Send one generic order event to invoicekit, signed with Standard Webhooks.

    python send_event.py URL SECRET FILE [--id MSG_ID]

    python send_event.py https://invoicekit.example.com/webhooks/generic/acme-custom \
        whsec_5LzyYjjxcpP2EFM1HNLVkKh4pzHhRGPKh6KGLGWWQWU= 1-order.placed.json

FILE is sent byte for byte as it is on disk. The signature is
``v1,`` + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")), where the key
is the secret without its ``whsec_`` prefix, base64-decoded. Prints the HTTP status and the
answer's body; exits 0 for a 2xx answer, 1 otherwise. Python 3.8+, standard library only.

Each call uses a new webhook-id unless --id is given. Resend a message that got no answer
with the same --id: invoicekit stores each webhook-id once, so a repeat is answered
200 "duplicate" instead of being processed twice.
"""

import argparse
import base64
import hashlib
import hmac
import sys
import time
import urllib.error
import urllib.request
import uuid


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header value for one message."""
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    key = base64.b64decode(secret)
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def send(url: str, secret: str, body: bytes, msg_id: str) -> tuple:
    """POST the signed body; return (status, answer body as text)."""
    timestamp = int(time.time())
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    })
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:  # 4xx and 5xx answers still have a body
        return error.code, error.read().decode("utf-8", "replace")


def main() -> int:
    parser = argparse.ArgumentParser(description="Send a signed generic event to invoicekit.")
    parser.add_argument("url", help="the delivery URL printed by `invoicekit shops add generic`")
    parser.add_argument("secret", help="the shop's whsec_ secret")
    parser.add_argument("file", help="the event as a JSON file")
    parser.add_argument("--id", default=None, help="webhook-id (default: a new msg_<uuid>)")
    args = parser.parse_args()
    with open(args.file, "rb") as handle:
        body = handle.read()
    status, answer = send(args.url, args.secret, body, args.id or f"msg_{uuid.uuid4().hex}")
    print(status)
    print(answer.strip())
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
