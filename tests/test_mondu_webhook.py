"""Mondu's webhooks: ``X-Mondu-Signature`` over the raw body, through the receiver into the
order's journal; unknown topics are stored and shown, never refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner
from requests.structures import CaseInsensitiveDict
from sqlalchemy import select
from test_mondu import LIFE, SETTINGS, MonduStandIn

from conftest import MERCHANT_ID
from core.errors import PayloadError, SignatureError
from core.execute import process_snapshot
from core.ledger.db import session_scope
from core.ledger.models import Delivery
from core.ledger.store import Ledger
from plugins.mondu import plugin
from plugins.mondu.webhook import check_secret, kind_of, sign
from webhooks.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mondu"
SECRET = "whsec-mondu-0123456789abcdef"
OLD_SECRET = "whsec-mondu-previous-0000000"
URL = "/webhooks/mondu/mondu-3333"


def body(name: str, **changes) -> bytes:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return json.dumps({**data, **changes}).encode()


def verify(raw: bytes, signature: str | None, secrets=(SECRET,)) -> bool | None:
    headers = CaseInsensitiveDict({"X-Mondu-Signature": signature} if signature else {})
    return plugin.verify_delivery(platform="mondu", body=raw, headers=headers,
                                  secrets=list(secrets))


# -- the signature ----------------------------------------------------------------------


def test_hex_signature_over_the_raw_body_is_accepted():
    raw = body("order_confirmed")
    assert sign(raw, SECRET) == hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert verify(raw, sign(raw, SECRET)) is True
    assert verify(raw, sign(raw, SECRET).upper()) is True


def test_base64_digest_of_the_same_hmac_is_accepted():
    raw = body("order_confirmed")
    digest = hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()
    assert verify(raw, base64.b64encode(digest).decode()) is True


def test_altered_body_fails():
    raw = body("order_confirmed")
    with pytest.raises(SignatureError, match="does not match"):
        verify(raw.replace(b"confirmed", b"declined"), sign(raw, SECRET))


def test_other_secret_fails_without_echo():
    raw = body("order_confirmed")
    with pytest.raises(SignatureError) as caught:
        verify(raw, sign(raw, OLD_SECRET))
    assert SECRET not in str(caught.value) and OLD_SECRET not in str(caught.value)


def test_previous_secret_is_accepted_during_a_rotation():
    raw = body("order_confirmed")
    assert verify(raw, sign(raw, OLD_SECRET), (SECRET, OLD_SECRET)) is True


def test_missing_signature_fails():
    with pytest.raises(SignatureError, match="missing"):
        verify(body("order_confirmed"), None)


def test_connection_without_secret_fails():
    raw = body("order_confirmed")
    with pytest.raises(SignatureError, match="no Mondu webhook secret"):
        verify(raw, sign(raw, SECRET), ())


def test_short_secret_is_refused_and_other_platforms_are_not_answered():
    check_secret(SECRET)
    with pytest.raises(ValueError, match="GET /webhooks/keys"):
        check_secret("short")
    assert plugin.verify_delivery(platform="billie", body=b"", headers={}, secrets=[]) is None
    assert plugin.parse_delivery(platform="billie", body=b"", settings={}) is None
    assert plugin.is_ping(platform="mondu") is False


# -- reading ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind", "amount"), [
    ("order_confirmed", "order_confirmed", None), ("order_declined", "cancelled", None),
    ("invoice_payment", "payment", 249_90), ("unknown_topic", "factoring_approved", None)])
def test_topics_are_read_into_meanings(name, kind, amount):
    raw = body(name)
    parsed = plugin.parse_delivery(platform="mondu", body=raw, settings={})
    (event,) = parsed.events
    assert (event.kind, event.amount, event.provider) == (kind, amount, "mondu")
    assert event.provider_reference == "6a3e0000-0000-4000-8000-000000000001"
    assert parsed.dedupe_key == event.event_id == hashlib.sha256(raw).hexdigest()
    assert parsed.topic == json.loads(raw)["topic"]


def test_topic_without_an_order_is_stored_with_no_event():
    parsed = plugin.parse_delivery(platform="mondu", body=body("buyer_limit_updated"),
                                   settings={})
    assert (parsed.topic, parsed.events) == ("buyer/limit_updated", ())
    assert kind_of("order/canceled") == kind_of("order/cancelled") == "cancelled"


@pytest.mark.parametrize(("change", "field"), [
    ({"topic": None}, "topic"), ({"order_uuid": 7}, "order_uuid"),
    ({"paid_amount_cents": "249.90"}, "paid_amount_cents")])
def test_bad_field_is_named(change, field):
    with pytest.raises(PayloadError) as caught:
        plugin.parse_delivery(platform="mondu", body=body("invoice_payment", **change),
                              settings={})
    assert list(caught.value.field_errors) == [field]


# -- through the receiver ---------------------------------------------------------------


@pytest.fixture
def placed(kit, woo_shop, client):
    """An order placed at the Mondu stand-in, and Mondu's webhook connection."""
    kit.hooks.pm.unregister(name="core.writeback.plugin")
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        ledger.configure_merchant(MERCHANT_ID, provider="mondu", provider_settings=SETTINGS)
        ledger.add_connection(name="mondu-3333", merchant_id=MERCHANT_ID, platform="mondu",
                              secrets=[SECRET])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        mondu = MonduStandIn(api)
        assert process_snapshot(kit.engine, kit.hooks, LIFE[0]()).failure is None
    return next(iter(mondu.orders))


def post(client, raw: bytes, secret: str = SECRET):
    return client.post(URL, data=raw, headers={"Content-Type": "application/json",
                                               "X-Mondu-Signature": sign(raw, secret)})


def journal(kit):
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        order = ledger.find_order("acme", "1001")
        return ledger.state_of(order), [(m.kind, m.amount) for m in ledger.movements_of(order)]


def test_altered_delivery_is_refused_401_and_stores_nothing(kit, client, placed):
    raw = body("order_declined", order_uuid=placed)
    signature = sign(raw, SECRET)
    altered = raw.replace(b"declined", b"confirmd")
    answer = client.post(URL, data=altered, headers={"X-Mondu-Signature": signature})
    assert answer.status_code == 401 and SECRET not in answer.get_data(as_text=True)
    with session_scope(kit.engine) as session:
        assert session.scalars(select(Delivery)).all() == []
    assert journal(kit)[1] == []


def test_events_are_verified_journalled_and_a_decline_cancels(kit, client, placed):
    # no request may reach Mondu while its webhooks are processed
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        confirmed = post(client, body("order_confirmed", order_uuid=placed))
        assert confirmed.status_code == 202
        assert post(client, body("order_confirmed", order_uuid=placed)).status_code == 200
        unknown = post(client, body("unknown_topic", order_uuid=placed))
        assert unknown.status_code == 202
        assert post(client, body("buyer_limit_updated")).status_code == 202
        assert post(client, body("order_declined", order_uuid=placed)).status_code == 202
    state, movements = journal(kit)
    assert movements == [("provider_order_confirmed", 0), ("provider_factoring_approved", 0),
                         ("provider_cancelled", 0)]
    assert state.status.value == "voided" and state.open_amount == 0
    with session_scope(kit.engine) as session:
        topics = [d.topic for d in session.scalars(select(Delivery).order_by(Delivery.id))]
        assert [d.status for d in session.scalars(select(Delivery))] == ["done"] * 4
    assert topics == ["order/confirmed", "factoring/approved", "buyer/limit_updated",
                      "order/declined"]
    env = {"INVOICEKIT_HOME": str(kit.settings.home / "instance"),
           "INVOICEKIT_DATABASE_URL": kit.settings.database_url,
           "INVOICEKIT_QUEUE_URL": "memory://"}
    shown = json.loads(CliRunner().invoke(main, ["orders", "show", "acme", "1001", "--json"],
                                          env=env).stdout)
    assert [e["description"] for e in shown["provider_events"]] == [
        "mondu reported order/confirmed", "mondu reported factoring/approved",
        "mondu reported order/declined"]


def test_payment_webhook_marks_the_invoice_paid_and_tells_the_shop(kit, woo_shop, client):
    from test_mondu import step

    from core.ledger.models import WriteBackRecord
    from core.payments.remote import remote_balance

    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        ledger.configure_merchant(MERCHANT_ID, provider="mondu", provider_settings=SETTINGS)
        ledger.add_connection(name="mondu-3333", merchant_id=MERCHANT_ID, platform="mondu",
                              secrets=[SECRET])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        mondu = MonduStandIn(api)
        for snapshot in (LIFE[0](), step(1, shipped={"1": 2, "2": 10, "ship": 1})):
            assert process_snapshot(kit.engine, kit.hooks, snapshot).failure is None
        (order_uuid,), (invoice_uuid,) = mondu.orders, mondu.invoices
    with responses.RequestsMock(assert_all_requests_are_fired=True):  # Mondu is not asked
        for _ in range(2):  # the redelivery books nothing more
            answer = post(client, body("invoice_payment", order_uuid=order_uuid,
                                       invoice_uuid=invoice_uuid, paid_amount_cents=303_40))
            assert answer.status_code in (200, 202)
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        order = ledger.find_order("acme", "1001")
        balance = remote_balance(ledger, order)
        assert (balance.invoiced, balance.paid, balance.open) == (303_40, 303_40, 0)
        paid = [(w.note, dict(w.values)) for w in session.scalars(
            select(WriteBackRecord).order_by(WriteBackRecord.id)) if w.event == "paid"]
    ((note, values),) = paid
    assert (values["state"], values["paid_amount"], values["open_amount"]) == (
        "paid", "303.40", "0.00")
    assert values["invoice_ids"] == "1001-1"  # Mondu's invoice number, not its uuid
    assert "paid in full" in note
