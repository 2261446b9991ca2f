"""The receiver reads a shop's connection once every few seconds, not per delivery, and
still: a secret rotated anywhere works at once, a change made in this process is seen at
once, one made by another process within the TTL, and a newly connected shop at once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import update

from conftest import MERCHANT_ID, WOO_SECRET
from core.ledger.db import session_scope
from core.ledger.models import ShopConnection
from core.ledger.store import Ledger
from webhooks import receiver
from woo import body, headers, order

URL = "/webhooks/woocommerce/acme"


@pytest.fixture
def clock(monkeypatch):
    """The receiver's clock, moved by hand."""
    now = SimpleNamespace(value=1000.0)
    monkeypatch.setattr(receiver, "time", SimpleNamespace(monotonic=lambda: now.value))
    return now


@pytest.fixture
def reads(monkeypatch):
    """The receiver's reads of a connection (processing, run at once here, reads its own)."""
    counted = []
    read = receiver._connection

    def counting(*args):
        counted.append(args[1:])
        return read(*args)

    monkeypatch.setattr(receiver, "_connection", counting)
    return counted


def post(client, order_id=4711, secret=WOO_SECRET, url=URL):
    raw = body(order(order_id))
    return client.post(url, data=raw, headers=headers(raw, secret))


def elsewhere(kit, **values):
    """A change another process makes (no ORM events in this one)."""
    with kit.engine.begin() as conn:
        conn.execute(update(ShopConnection).where(ShopConnection.name == "acme")
                     .values(**values))


def test_deliveries_within_the_ttl_read_the_connection_once(client, kit, clock, reads):
    assert [post(client, n).status_code for n in (1, 2, 3)] == [202, 202, 202]
    assert len(reads) == 1
    clock.value += receiver.CONNECTION_TTL
    assert post(client, 4).status_code == 202
    assert len(reads) == 2


def test_a_secret_rotated_elsewhere_works_at_once(client, kit, clock):
    assert post(client, 1).status_code == 202
    elsewhere(kit, secrets=["rotated-secret", WOO_SECRET])
    assert post(client, 2, secret="rotated-secret").status_code == 202
    assert post(client, 3, secret="never-valid").status_code == 401


def test_a_secret_revoked_elsewhere_is_refused_within_the_ttl(client, kit, clock):
    assert post(client, 1).status_code == 202
    elsewhere(kit, secrets=["rotated-secret"])
    clock.value += receiver.CONNECTION_TTL
    assert post(client, 2).status_code == 401
    assert post(client, 3, secret="rotated-secret").status_code == 202


def test_a_connection_moved_elsewhere_is_noticed_within_the_ttl(client, kit, clock):
    assert post(client, 1).status_code == 202
    elsewhere(kit, platform="generic")
    clock.value += receiver.CONNECTION_TTL
    assert post(client, 2).status_code == 404


def test_a_change_in_this_process_is_seen_at_once(client, kit, clock):
    assert post(client, 1).status_code == 202
    with session_scope(kit.engine) as session:
        Ledger(session).connection("acme").secrets = []
    assert post(client, 2).status_code == 401


def test_a_newly_connected_shop_works_at_once(client, kit, clock):
    new = "/webhooks/woocommerce/beta"
    assert post(client, 1, secret="beta-secret", url=new).status_code == 404
    with session_scope(kit.engine) as session:
        Ledger(session).add_connection(name="beta", merchant_id=MERCHANT_ID,
                                       platform="woocommerce", secrets=["beta-secret"])
    assert post(client, 1, secret="beta-secret", url=new).status_code == 202


def test_a_ping_and_an_unsigned_delivery_answer_as_before(client, kit, clock, reads):
    assert client.post(URL, data=b"webhook_id=12",
                       content_type="application/x-www-form-urlencoded").status_code == 200
    assert post(client, 1, secret="wrong").status_code == 401
    assert len(reads) == 2  # the mismatch read the connection again before refusing
