"""The generic platform: Standard Webhooks signatures and canonical events, end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from core.errors import SignatureError
from core.ledger.db import session_scope
from core.ledger.models import Delivery
from core.ledger.store import Ledger
from plugins.generic.signature import new_secret, sign, verify

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "docs" / "examples" / "generic")
                  .glob("*.json"))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
URL = "/webhooks/generic/custom"


def signed(body: bytes, *, msg_id: str = "msg_1", at: float | None = None,
           secret: str = SECRET) -> dict[str, str]:
    ts = int(time.time() if at is None else at)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign(msg_id, ts, body, secret),
            "Content-Type": "application/json"}


# -- the verifier, one test per outcome ----------------------------------------------------

def test_reference_vector():
    body = b'{"test": 2432232314}'
    assert sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1674087231, body, SECRET) == \
        "v1,AQG81rX2n4rTN1fkXoqILSHO9gAOcwya9dP41rhrQDI="


def test_valid_signature_passes():
    verify(b"{}", signed(b"{}"), [SECRET])


def test_old_timestamp_fails():
    with pytest.raises(SignatureError, match="too old"):
        verify(b"{}", signed(b"{}", at=time.time() - 301), [SECRET])


def test_new_timestamp_fails():
    with pytest.raises(SignatureError, match="future"):
        verify(b"{}", signed(b"{}", at=time.time() + 301), [SECRET])


def test_timestamps_inside_the_window_pass():
    for offset in (-299, 299):
        verify(b"{}", signed(b"{}", at=time.time() + offset), [SECRET])


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_fails(header):
    headers = signed(b"{}")
    del headers[header]
    with pytest.raises(SignatureError, match=f"missing {header}"):
        verify(b"{}", headers, [SECRET])


def test_wrong_secret_fails():
    with pytest.raises(SignatureError, match="does not match"):
        verify(b"{}", signed(b"{}", secret=new_secret()), [SECRET])


def test_multi_sig_payload_is_valid():
    headers = signed(b"{}")
    headers["webhook-signature"] = "v1,Zm9v " + headers["webhook-signature"] + " v2,YmFy"
    verify(b"{}", headers, [SECRET])


def test_rotated_secret_is_accepted():
    verify(b"{}", signed(b"{}"), [new_secret(), SECRET])


def test_non_v1_and_garbage_signatures_fail():
    headers = signed(b"{}")
    headers["webhook-signature"] = "v1a,abc v0,def"
    with pytest.raises(SignatureError, match="no v1"):
        verify(b"{}", headers, [SECRET])
    headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(SignatureError, match="Unix time"):
        verify(b"{}", headers, [SECRET])


# -- through the receiver --------------------------------------------------------------------

@pytest.fixture
def generic(kit, client):
    with session_scope(kit.engine) as session:
        Ledger(session).add_connection(name="custom", merchant_id=3333, platform="generic",
                                       status_map={"activated": "activate",
                                                   "cancelled": "cancel"},
                                       secrets=[SECRET])
    return client


def post(client, payload, **options):
    body = json.dumps(payload).encode()
    return client.post(URL, data=body, headers=signed(body, **options))


def test_every_documented_example_passes_through_the_receiver(generic, kit):
    results = []
    for n, path in enumerate(EXAMPLES):
        response = post(generic, json.loads(path.read_text()), msg_id=f"msg_{n}")
        assert response.status_code == 202, (path.name, response.json)
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        order = ledger.find_order("custom", "GEN-1001")
        results = [(r.kind, r.gross, r.status) for r in ledger.operations_of(order)]
        state = ledger.state_of(order)
    assert results == [
        ("placement", 549_73, "succeeded"), ("activation", 549_73, "succeeded"),
        ("discount_transfer", 15_00, "succeeded"), ("partial_credit", 20_00, "succeeded"),
        ("return", 124_95, "succeeded"), ("full_credit", 389_78, "succeeded")]
    assert state.status.value == "credited" and state.open_amount == 0


def test_same_webhook_id_is_stored_once(generic):
    payload = json.loads(EXAMPLES[0].read_text())
    assert post(generic, payload, msg_id="msg_same").status_code == 202
    again = post(generic, payload, msg_id="msg_same", at=time.time() + 5)
    assert again.status_code == 200 and again.json["status"] == "duplicate"


@pytest.mark.parametrize(("offset", "secret"), [(-301, SECRET), (301, SECRET),
                                                (0, "whsec_" + "A" * 44)])
def test_bad_signatures_are_401(generic, kit, offset, secret):
    payload = json.loads(EXAMPLES[0].read_text())
    response = post(generic, payload, at=time.time() + offset, secret=secret)
    assert response.status_code == 401
    with session_scope(kit.engine) as session:
        assert Ledger(session).session.scalars(select(Delivery)).all() == []


def test_missing_header_is_401(generic):
    body = EXAMPLES[0].read_bytes()
    headers = signed(body)
    del headers["webhook-timestamp"]
    assert generic.post(URL, data=body, headers=headers).status_code == 401


@pytest.mark.parametrize(("change", "field"), [
    (lambda e: e.update(type="order.shipped"), "type"),
    (lambda e: e["data"]["order"].pop("currency"), "data.order.currency"),
    (lambda e: e["data"]["order"]["lines"][0].update(quantity=-1), "data.order.lines.0.quantity"),
    (lambda e: e["data"]["order"].update(total=549.73), "data.order.total"),
    (lambda e: e["data"]["order"].update(shop="other"), "data.order.shop"),
    (lambda e: e.update(type="order.cancelled"), "data.order.status"),
])
def test_schema_violations_are_422_naming_the_field(generic, kit, change, field):
    payload = json.loads(EXAMPLES[0].read_text())
    change(payload)
    response = post(generic, payload)
    assert response.status_code == 422, response.json
    assert field in response.json["fields"]


def test_partial_activation_is_refused(generic):
    payload = json.loads(EXAMPLES[1].read_text())
    payload["data"]["shipped_lines"] = [{"line_id": "1", "quantity": 2}]
    response = post(generic, payload)
    assert response.status_code == 422
    assert "partial activation" in response.json["fields"]["data.shipped_lines"][0]
