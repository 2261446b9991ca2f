"""Billie's webhooks: the static API key, and the body read into one provider event."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from requests.structures import CaseInsensitiveDict

from core.errors import MalformedPayload, PayloadError, SignatureError
from plugins.billie import plugin
from plugins.billie.webhook import check_key, new_key

KEY = "k1-billie-webhook-key-0001"
BODY = json.dumps({"event": "invoice_paid_out", "order_id": "SO-1001",
                   "order_uuid": "7b1f0000-0000-4000-8000-000000000001",
                   "invoice_uuid": "a9c00000-0000-4000-8000-0000000000aa",
                   "amount": "80.00", "open_amount": "39.00",
                   "created_at": "2024-07-05 08:00:00"}).encode()


def headers(**values: str) -> CaseInsensitiveDict:
    return CaseInsensitiveDict(values)


def verify(given: CaseInsensitiveDict, secrets: list[str] | None = None) -> bool | None:
    return plugin.verify_delivery(platform="billie", headers=given,
                                  secrets=[KEY] if secrets is None else secrets)


def parse(body: bytes, **settings: str):
    return plugin.parse_delivery(platform="billie", body=body, settings=settings)


# -- verification -----------------------------------------------------------------------


def test_right_key_in_x_api_key():
    assert verify(headers(**{"x-api-key": KEY})) is True


def test_key_in_basic_authorization():
    assert verify(headers(Authorization=f"Basic {KEY}")) is True


def test_any_current_key_during_rotation():
    assert verify(headers(**{"X-Api-Key": KEY}), ["new-key-0000000000000", KEY]) is True


@pytest.mark.parametrize("given", [
    headers(**{"X-Api-Key": "k1-billie-webhook-key-0002"}),
    headers(Authorization="Basic k1-billie-webhook-key-0002"),
    headers(Authorization=f"Bearer {KEY}"),
])
def test_wrong_key_is_refused_without_echo(given):
    with pytest.raises(SignatureError) as caught:
        verify(given)
    assert "0002" not in str(caught.value) and KEY not in str(caught.value)


def test_no_key_is_refused():
    with pytest.raises(SignatureError, match="missing"):
        verify(headers())


def test_connection_without_keys_refuses_everything():
    with pytest.raises(SignatureError, match="no Billie webhook key"):
        verify(headers(**{"X-Api-Key": KEY}), [])


def test_other_platforms_are_not_answered():
    assert plugin.verify_delivery(platform="woocommerce", headers=headers(), secrets=[]) is None
    assert plugin.parse_delivery(platform="generic", body=BODY, settings={}) is None
    assert plugin.is_ping(platform="billie") is False
    assert plugin.is_ping(platform="woocommerce") is None


def test_new_keys_pass_their_own_check():
    key = new_key()
    check_key(key)
    with pytest.raises(ValueError):
        check_key("short")
    info = plugin.declare_platform()
    assert (info.name, info.capabilities, dict(info.status_map)) == ("billie", frozenset(), {})


# -- parsing ----------------------------------------------------------------------------


def test_event_is_read_into_a_provider_event():
    parsed = parse(BODY)
    digest = hashlib.sha256(BODY).hexdigest()
    assert (parsed.dedupe_key, parsed.topic, parsed.order_id) == (digest, "invoice_paid_out",
                                                                   None)
    (event,) = parsed.events
    assert event.provider == "billie" and event.event_id == digest
    assert event.kind == "paid_out" and event.name == "invoice_paid_out"
    assert event.invoice_reference == "a9c00000-0000-4000-8000-0000000000aa"
    assert event.open_amount == 39_00 and event.external_code == "SO-1001"
    assert event.provider_reference == "7b1f0000-0000-4000-8000-000000000001"
    assert event.amount == 8000
    assert event.occurred_at == datetime(2024, 7, 5, 8, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert event.occurred_at.astimezone(UTC).hour == 6


@pytest.mark.parametrize("name", ["order_canceled", "order_cancelled"])
def test_cancellation_in_either_spelling(name):
    body = json.dumps({"event": name, "order_id": "SO-1001", "order_uuid": "u-1",
                       "created_at": "2024-07-05T08:00:00+00:00"}).encode()
    (event,) = parse(body).events
    assert event.kind == "cancelled" and event.amount is None
    assert event.occurred_at == datetime(2024, 7, 5, 8, 0, tzinfo=UTC)


def test_time_zone_from_the_connection_settings():
    (event,) = parse(BODY, timezone="UTC").events
    assert event.occurred_at == datetime(2024, 7, 5, 8, 0, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff"])
def test_unreadable_body_is_malformed(body):
    with pytest.raises(MalformedPayload):
        parse(body)


@pytest.mark.parametrize(("change", "field"), [
    ({"event": None}, "event"),
    ({"order_uuid": 17}, "order_uuid"),
    ({"order_uuid": "u" * 65}, "order_uuid"),
    ({"created_at": "yesterday"}, "created_at"),
    ({"open_amount": "1.234"}, "open_amount"),
    ({"amount": {"net": "1.00"}}, "amount"),
    ({"amount": "80.001"}, "amount"),
    ({"amount": True}, "amount"),
    ({"order_id": 17}, "order_id"),
])
def test_bad_field_is_named(change, field):
    data = {**json.loads(BODY), **change}
    with pytest.raises(PayloadError) as caught:
        parse(json.dumps(data).encode())
    assert list(caught.value.field_errors) == [field]


# -- every documented event is accepted (examples from docs.billie.io) --------------------

FIXTURES = Path(__file__).parent / "fixtures" / "billie"


def example(name: str) -> bytes:
    return json.dumps(json.loads((FIXTURES / f"{name}.json").read_text())["body"]).encode()


def documented(name: str) -> bytes:
    bodies = json.loads((FIXTURES / "documented_format.json").read_text())["bodies"]
    return json.dumps(bodies[name]).encode()


def test_order_created_with_external_code_and_nested_amount_is_accepted():
    parsed = parse(example("order_created"))
    # the documented example names no order uuid: acknowledged and recorded, never refused
    assert parsed.events == () and parsed.topic == "order_created"
    assert "order-external-code" in parsed.ignored
    data = {**json.loads(example("order_created")), "uuid": "u-1",
            "created_at": "2023-07-24 14:19:32"}
    (event,) = parse(json.dumps(data).encode()).events
    assert (event.kind, event.provider_reference, event.amount, event.external_code) == (
        "order_created", "u-1", 100_00, "order-external-code")


@pytest.mark.parametrize(("name", "kind"), [
    ("order_waiting", "order_waiting"), ("order_approved", "order_approved"),
    ("invoice_paid_out", "paid_out")])
def test_documented_examples_are_read(name, kind):
    (event,) = parse(example(name)).events
    assert event.kind == kind and event.name == name
    assert event.provider_reference == "5ffdc1ad-7898-46f9-b604-499e03b4fcf7"


@pytest.mark.parametrize(("name", "kind", "amount", "open_amount"), [
    ("payment", "payment", 60_00, 40_00), ("dispute", "dispute", None, None),
    ("clawback", "clawback", 60_00, 100_00), ("dca", "dca", None, 100_00),
    ("invoice_late", "late", None, 100_00)])
def test_documented_events_get_their_kind(name, kind, amount, open_amount):
    (event,) = parse(documented(name)).events
    assert (event.kind, event.amount, event.open_amount) == (kind, amount, open_amount)
    assert event.invoice_reference == "03f74b37-3a04-4f76-aa88-221d01520e08"


@pytest.mark.parametrize("name", ["order_declined", "order_canceled"])
def test_decline_and_cancel_are_cancellations(name):
    body = {**json.loads(example("order_approved")), "event": name}
    (event,) = parse(json.dumps(body).encode()).events
    assert event.kind == "cancelled" and event.name == name


def test_unknown_event_name_is_kept_as_it_comes():
    body = {**json.loads(example("order_approved")), "event": "promise_to_pay_v2",
            "something_new": {"nested": [1, 2]}}
    (event,) = parse(json.dumps(body).encode()).events
    assert event.kind == event.name == "promise_to_pay_v2"


def test_event_without_time_gets_the_time_it_is_read():
    body = {**json.loads(example("order_approved"))}
    del body["created_at"]
    (event,) = parse(json.dumps(body).encode()).events
    assert event.occurred_at.tzinfo is not None
