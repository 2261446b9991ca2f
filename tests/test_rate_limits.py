"""Rate limits on the back office's sign-in (per client address) and the HTTP API (per key):
429 with Retry-After past the limit, nothing run; counted in the ledger, so every process
of the app counts together; ``[office]`` settings change them, 0 turns them off."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from conftest import MERCHANT_ID
from core.errors import ConfigurationError
from core.ledger.db import session_scope
from core.ledger.models import OfficeSession, RateLimitWindow
from core.ledger.store import Ledger
from core.risk.apikeys import create_key
from core.users import create_user
from webhooks import create_app
from webhooks.limits import LIMITS, count

PASSWORD = "correct horse battery"
NOW = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)  # half a minute into the minute
REQUEST = {"amount": "1190.00", "currency": "EUR",
           "buyer": {"company": "Muster Bürobedarf", "legal_form": "GmbH",
                     "vat_id": "DE136695976", "street": "Hauptstraße 5", "postcode": "10115",
                     "city": "Berlin", "country": "DE"}}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def make_app(kit, woo_shop, clock):
    """An app on the kit with ``[office]`` settings."""
    with session_scope(kit.engine) as session:
        create_user(Ledger(session), MERCHANT_ID, "anna@acme.example", PASSWORD)

    def make_app(**office):
        kit.settings = dataclasses.replace(kit.settings, office=office)
        return create_app({"TESTING": True}, kit=kit)

    return make_app


def sign_in(client, **kwargs):
    page = client.get("/office/sign-in", **kwargs).get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return client.post("/office/sign-in", data={"csrf": token, "email": "anna@acme.example",
                                                "password": PASSWORD}, **kwargs)


def attempt(client, **kwargs) -> int:
    """A sign-in without the form's token: refused (400) and counted."""
    return client.post("/office/sign-in", data={"email": "anna@acme.example",
                                                "password": PASSWORD}, **kwargs).status_code


def sessions(kit) -> int:
    with session_scope(kit.engine, write=False) as session:
        return session.scalar(select(func.count()).select_from(OfficeSession))


def test_the_eleventh_sign_in_a_minute_from_one_address_is_refused(make_app, kit, clock):
    client = make_app().test_client()
    assert [attempt(client) for _ in range(10)] == [400] * 10
    before = sessions(kit)
    refused = sign_in(client)  # the right password, and still refused
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
    page = refused.get_data(as_text=True)
    assert "Too many sign-in attempts from this address: at most 10 a minute. Try again " \
        "in 30 seconds." in page and 'name="password"' in page
    assert sessions(kit) == before
    assert client.get("/office/orders").status_code == 302  # not signed in
    other = make_app().test_client()
    assert sign_in(other, environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 302
    clock.shift(timedelta(seconds=30))  # the next minute
    assert sign_in(client).status_code == 302


def test_every_process_counts_into_the_same_limit(make_app):
    """Two apps on one ledger, as two gunicorn workers: 3 a minute in all, not each."""
    first, second = (make_app(sign_in_per_minute=3).test_client() for _ in range(2))
    assert [attempt(first), attempt(second), attempt(first)] == [400] * 3
    assert sign_in(second).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(make_app):
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    client = make_app(sign_in_per_minute=1, trusted_proxies=1).test_client()
    assert attempt(client, headers=forwarded) == 400
    assert sign_in(client, headers=forwarded).status_code == 429
    assert sign_in(client, headers={"X-Forwarded-For": "203.0.113.10"}).status_code == 302
    direct = make_app(sign_in_per_minute=1).test_client()  # no proxy trusted: header ignored
    assert attempt(direct, headers=forwarded) == 400
    assert sign_in(direct, headers={"X-Forwarded-For": "203.0.113.11"}).status_code == 429


def test_the_api_is_limited_per_key(make_app, kit):
    client = make_app(api_per_minute=3).test_client()
    with session_scope(kit.engine) as session:
        key, other = (create_key(Ledger(session), MERCHANT_ID, name)[1] for name in "ab")
    for _ in range(3):
        answer = client.post("/api/v1/eligibility", json=REQUEST,
                             headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200
    refused = client.post("/api/v1/eligibility", json=REQUEST,
                          headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
    assert refused.json == {"error": "Too many requests: at most 3 a minute. "
                                     "Try again in 30 seconds."}
    assert key.split("_")[2] not in refused.get_data(as_text=True)
    assert client.post("/api/v1/eligibility", json=REQUEST,
                       headers={"Authorization": f"Bearer {other}"}).status_code == 200
    with session_scope(kit.engine, write=False) as session:  # the key's secret is not kept
        assert not any(key.split("_")[2] in k for k in session.scalars(
            select(RateLimitWindow.key)))


def test_the_api_without_a_key_is_limited_per_address(make_app):
    client = make_app(api_per_minute=2).test_client()
    statuses = [client.post("/api/v1/eligibility", json=REQUEST).status_code
                for _ in range(3)]
    assert statuses == [401, 401, 429]



def test_made_up_key_prefixes_share_the_address_counter(make_app):
    client = make_app(api_per_minute=2).test_client()
    statuses = [client.post("/api/v1/eligibility", json=REQUEST, headers={
        "Authorization": f"Bearer ik_{n:012x}_secret"}).status_code for n in range(3)]
    assert statuses == [401, 401, 429]

def test_zero_turns_a_limit_off_and_a_wrong_setting_is_refused(make_app):
    client = make_app(api_per_minute=0).test_client()
    assert {client.post("/api/v1/eligibility", json=REQUEST).status_code
            for _ in range(5)} == {401}
    with pytest.raises(ConfigurationError, match="sign_in_per_minute"):
        make_app(sign_in_per_minute="10")
    with pytest.raises(ConfigurationError, match="trusted_proxies"):
        make_app(trusted_proxies=-1)


def test_counters_an_hour_old_are_deleted(kit, clock):
    count(kit.engine, "sign-in:192.0.2.1", NOW)
    clock.shift(timedelta(hours=1, minutes=1))
    hits, ends = count(kit.engine, "sign-in:192.0.2.2", datetime.now(UTC))
    assert hits == 1 and ends == datetime(2026, 3, 2, 13, 2, tzinfo=UTC)
    with session_scope(kit.engine, write=False) as session:
        assert session.scalars(select(RateLimitWindow.key)).all() == ["sign-in:192.0.2.2"]


def test_every_limit_names_an_endpoint_of_the_app(make_app):
    app = make_app()
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    for name in LIMITS:
        assert name in endpoints or name.removesuffix(".*") in app.blueprints, name


def test_the_checkout_pages_confirmations_are_limited_per_address(make_app):
    """The buyer's checkout page has no key, only its token: guessing tokens is throttled."""
    client = make_app(checkout_confirm_per_minute=3).test_client()
    answers = [client.post("/checkout/guessed-token/confirm", json={}).status_code
               for _ in range(4)]
    assert answers == [404, 404, 404, 429]
