"""Shopware write-back and reads, against the Admin API's wire format (``responses`` stands
in for the shop): custom fields and configured transaction transitions per outcome, the
errors that retry or end a write-back, and the orders the poll and the dry run read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
import responses

from core.context import WriteBack
from core.errors import (
    ConfigurationError,
    NotFound,
    OutcomeUnknown,
    PermanentError,
    RetryableError,
)
from plugins.shopware import admin
from plugins.shopware.plugin import fetch_orders, parse_delivery, write_back
from shopware import SHOP_URL, order

API = f"{SHOP_URL}/api"
ORDER_ID = "7be336f9da6b81f8cf753ad6436b6200"
SETTINGS = {"shop_url": SHOP_URL, "client_id": "SWIAEXAMPLEKEY0000000000001",
            "client_secret": "app-secret", "payment_methods": ["payment_invoice"]}
BANK = {"provider": "local", "provider_order_id": "BP10087/3333",
        "payment_reference": "BP10087/3333", "iban": "DE25100200304000000000"}


def writeback(event, note, **values):
    return WriteBack(id=1, idempotency_key="ab" * 32, event=event, shop="beispiel",
                     shop_order_id=ORDER_ID, order_number="10087", note=note,
                     values={**BANK, **values},
                     occurred_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC))


def fields(event, note, **values):
    return {"customFields": {**{f"invoicekit_{k}": v for k, v in {**BANK, **values}.items()},
                             "invoicekit_note": note, "invoicekit_event": event}}


def sent(api):
    """The kit's calls after the token: (method, path, JSON body)."""
    return [(c.request.method, c.request.url.removeprefix(API),
             json.loads(c.request.body) if c.request.body else None)
            for c in api.calls if not c.request.url.endswith("/oauth/token")]


def transaction(state):
    return {"data": [{"id": ORDER_ID, "transactions": [
        {"id": "tr0", "createdAt": "2026-11-01T08:00:00.000+00:00",
         "stateMachineState": {"technicalName": "cancelled"}},
        {"id": "tr1", "createdAt": "2026-11-02T09:14:00.000+00:00",
         "stateMachineState": {"technicalName": state}}]}]}


@pytest.fixture
def api():
    admin._tokens.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{API}/oauth/token", json={"access_token": "tok", "expires_in": 600})
        mock.patch(f"{API}/order/{ORDER_ID}", status=204)
        yield mock
    admin._tokens.clear()


def call(wb, settings=SETTINGS):
    return write_back(platform="shopware", writeback=wb, settings=settings)


@pytest.mark.parametrize(("event", "note", "values"), [
    ("authorised", "Invoice payment of 549.73 EUR authorised by local.",
     {"open_amount": "549.73", "currency": "EUR", "state": "authorised"}),
    ("activated", "Invoice INV-000001 issued for 549.73 EUR.",
     {"invoice_ids": "INV-000001", "due_date": "2026-12-23", "open_amount": "549.73",
      "currency": "EUR", "state": "active"}),
    ("credited", "Partial credit of 83.30 EUR: credit note CN-000001.",
     {"invoice_ids": "INV-000001", "open_amount": "466.43", "currency": "EUR",
      "state": "active"}),
    ("failed", "Activation of 549.73 EUR failed at billie: … retry with: invoicekit orders "
               "replay beispiel 7be3…", {"open_amount": "549.73", "state": "authorised"}),
])
def test_each_outcome_patches_the_orders_custom_fields(api, event, note, values):
    assert call(writeback(event, note, **values)) == "custom fields written"
    assert sent(api) == [("PATCH", f"/order/{ORDER_ID}", fields(event, note, **values))]
    assert api.calls[1].request.headers["Authorization"] == "Bearer tok"


def test_a_decline_moves_the_transaction_where_the_merchant_configured_it(api):
    api.post(f"{API}/search/order", json=transaction("open"))
    api.post(f"{API}/_action/order_transaction/tr1/state/cancel", json={})
    note = "Invoice payment declined by local (country_not_supported)."
    wb = writeback("declined", note, state="declined", decline_reason="country_not_supported")
    assert call(wb, {**SETTINGS, "transitions": {"declined": "cancel"}}) == \
        "custom fields written; transaction cancel"
    assert sent(api) == [
        ("PATCH", f"/order/{ORDER_ID}", fields("declined", note, state="declined",
                                               decline_reason="country_not_supported")),
        ("POST", "/search/order", {"ids": [ORDER_ID], "associations": {"transactions": {
            "associations": {"stateMachineState": {}}}}}),
        ("POST", "/_action/order_transaction/tr1/state/cancel", {}),
    ]


PAID = {**SETTINGS, "transitions": {"paid": "paid", "paid_partially": "paid_partially"}}


@pytest.mark.parametrize(("state", "open_amount", "current", "result", "action"), [
    ("paid", "0.00", "open", "transaction paid", "paid"),
    ("active", "249.73", "open", "transaction paid_partially", "paid_partially"),
    ("paid", "0.00", "paid", "transaction already paid", None),
])
def test_a_payment_moves_the_transaction_to_paid_or_paid_partially(api, state, open_amount,
                                                                    current, result, action):
    api.post(f"{API}/search/order", json=transaction(current))
    if action:
        api.post(f"{API}/_action/order_transaction/tr1/state/{action}", json={})
    wb = writeback("paid", "Payment received.", state=state, open_amount=open_amount)
    assert call(wb, PAID) == f"custom fields written; {result}"
    posts = [path for method, path, _ in sent(api) if path.startswith("/_action")]
    assert posts == ([f"/_action/order_transaction/tr1/state/{action}"] if action else [])


def test_a_transition_shopware_does_not_allow_is_reported_not_retried(api):
    api.post(f"{API}/search/order", json=transaction("cancelled"))
    api.post(f"{API}/_action/order_transaction/tr1/state/paid", status=400,
             json={"errors": [{"code": "SYSTEM__ILLEGAL_STATE_TRANSITION"}]})
    wb = writeback("paid", "Payment received.", state="paid", open_amount="0.00")
    assert call(wb, PAID) == \
        "custom fields written; transition paid not allowed from cancelled (400)"


def test_unavailable_shop_is_retried_with_its_retry_after(api):
    api.remove(responses.PATCH, f"{API}/order/{ORDER_ID}")
    api.patch(f"{API}/order/{ORDER_ID}", status=503, headers={"Retry-After": "30"})
    with pytest.raises(RetryableError) as caught:
        call(writeback("authorised", "x"))
    assert not isinstance(caught.value, OutcomeUnknown) and caught.value.retry_after == 30


def test_a_lost_answer_to_a_write_is_an_unknown_outcome(api):
    api.remove(responses.PATCH, f"{API}/order/{ORDER_ID}")
    api.patch(f"{API}/order/{ORDER_ID}", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknown):
        call(writeback("authorised", "x"))
    api.remove(responses.PATCH, f"{API}/order/{ORDER_ID}")
    api.patch(f"{API}/order/{ORDER_ID}", status=502)
    with pytest.raises(OutcomeUnknown):
        call(writeback("authorised", "x"))


def test_refused_credentials_are_permanent_after_one_fresh_token(api):
    api.remove(responses.PATCH, f"{API}/order/{ORDER_ID}")
    api.patch(f"{API}/order/{ORDER_ID}", status=401)
    with pytest.raises(PermanentError, match="register the app again"):
        call(writeback("authorised", "x"))
    assert [c.request.method for c in api.calls] == ["POST", "PATCH", "POST", "PATCH"]


def test_a_deleted_order_is_permanent(api):
    api.remove(responses.PATCH, f"{API}/order/{ORDER_ID}")
    api.patch(f"{API}/order/{ORDER_ID}", status=404)
    with pytest.raises(PermanentError, match="no longer exists"):
        call(writeback("authorised", "x"))


def test_without_credentials_nothing_is_sent():
    with responses.RequestsMock():  # any request would fail
        assert call(writeback("authorised", "x"), {"shop_url": SHOP_URL}) == \
            "skipped: no Admin API credentials"


# -- reading orders back ------------------------------------------------------------------


def shipped(order_id, number):
    data = order(order_id, number)
    data["stateMachineState"] = {"technicalName": "open"}
    data["deliveries"][0]["stateMachineState"] = {"technicalName": "shipped"}
    data["transactions"][0]["stateMachineState"] = {"technicalName": "open"}
    return data


def test_changed_orders_are_read_page_by_page_and_parse_like_webhooks(api, monkeypatch):
    monkeypatch.setattr(admin, "PAGE", 2)
    first = [order("a" * 32, "10001"), shipped("b" * 32, "10002")]
    api.post(f"{API}/search/order", json={"data": first})
    api.post(f"{API}/search/order", json={"data": [order("c" * 32, "10003")]})
    since = datetime(2026, 11, 3, 13, 0, tzinfo=UTC)
    got = list(fetch_orders(platform="shopware", settings=SETTINGS, modified_since=since,
                            order_id=None))
    searches = [body for method, path, body in sent(api) if path == "/search/order"]
    assert [s.pop("page") for s in searches] == [1, 2]
    assert searches[0] == {
        "filter": [{"type": "multi", "operator": "or", "queries": [
            {"type": "range", "field": "createdAt",
             "parameters": {"gte": "2026-11-03T13:00:00+00:00"}},
            {"type": "range", "field": "updatedAt",
             "parameters": {"gte": "2026-11-03T13:00:00+00:00"}}]}],
        "sort": [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}],
        "associations": admin.ORDER_ASSOCIATIONS, "limit": 2, "total-count-mode": 0}
    parsed = [parse_delivery(platform="shopware", shop="beispiel", body=f.body,
                             headers=f.headers, settings=SETTINGS) for f in got]
    assert [(p.topic, p.snapshots[0].order_number, p.snapshots[0].status, p.snapshots[0].total)
            for p in parsed] == [
        ("checkout.order.placed", "10001", "open", 549_73),
        ("state_enter.order_delivery.state.shipped", "10002", "shipped", 549_73),
        ("checkout.order.placed", "10003", "open", 549_73)]
    api.post(f"{API}/search/order", json={"data": first[:1]})
    again = fetch_orders(platform="shopware", settings=SETTINGS, modified_since=None,
                         order_id="a" * 32)
    assert sent(api)[-1][2] == {"ids": ["a" * 32], "associations": admin.ORDER_ASSOCIATIONS}
    assert next(iter(again)).body == got[0].body  # an unchanged order reads the same


def test_one_order_by_id_and_an_unknown_one(api):
    api.post(f"{API}/search/order", json={"data": []})
    with pytest.raises(NotFound):
        fetch_orders(platform="shopware", settings=SETTINGS, modified_since=None,
                     order_id="f" * 32)


def test_reading_without_credentials_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="Admin API credentials"):
        fetch_orders(platform="shopware", settings={"shop_url": SHOP_URL},
                     modified_since=datetime(2026, 11, 1, tzinfo=UTC), order_id=None)
    assert fetch_orders(platform="woocommerce", settings={}, modified_since=None,
                        order_id="1") is None
