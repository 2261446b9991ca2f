"""Back-office sessions held server-side: the cookie carries a random token only, and a copy
of it stops working at sign-out, a password change, the user's removal, after the idle and
the absolute timeout (a fixed clock, moved by hand). Sign-in locks per account and address:
a locked answer spends the password hash's time, the real user signs in from elsewhere."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from office_users import (
    ANNA,
    AWAY,
    HOME,
    OTTO,
    activate,
    audit_rows,
    copy_session,
    make_office,
    order_status,
    session_rows,
    sign_in,
    works,
)
from sqlalchemy import select

import core.users
from core.ledger.db import session_scope
from core.ledger.models import OfficeSession
from core.ledger.store import Ledger
from core.users import change_password, remove_user, unlock_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # any fixed instant: nothing depends on the day


@pytest.fixture
def app(kit, woo_shop):
    return make_office(kit)


@pytest.fixture
def client(app):
    return app.test_client()


def test_the_cookie_carries_a_random_token_whose_hash_alone_is_stored(client, kit):
    assert sign_in(client).status_code == 302
    with client.session_transaction() as cookie:
        assert set(cookie) <= {"office", "csrf"}  # no user id, no e-mail
        token = cookie["office"]
    assert len(token) >= 43
    with session_scope(kit.engine) as session:
        row = session.scalars(select(OfficeSession)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.client_address == HOME and row.ended_at is None


def test_sign_in_makes_a_new_token_and_ends_the_earlier_session(client, kit):
    with client.session_transaction() as cookie:
        cookie["office"] = "chosen-by-an-attacker"  # session fixation
    sign_in(client)
    with client.session_transaction() as cookie:
        first = cookie["office"]
    assert first != "chosen-by-an-attacker"
    sign_in(client)
    with client.session_transaction() as cookie:
        assert cookie["office"] != first
    assert session_rows(kit) == [("signed_in_again", HOME), (None, HOME)]


def test_a_copied_cookie_stops_working_after_sign_out(app, client, kit):
    sign_in(client)
    thief = copy_session(client, app)
    assert works(thief)
    token = thief.get_cookie("session").value
    assert client.post("/office/sign-out", data={"csrf": _csrf(client)}).status_code == 302
    assert not works(thief) and not works(client)
    thief.set_cookie("session", token)  # the copy as it was, CSRF token included
    assert activate(thief, kit).status_code == 302  # sent to sign in
    assert order_status(kit) == "authorised"  # nothing changed
    assert session_rows(kit) == [("signed_out", HOME)]


def _csrf(client) -> str:
    with client.session_transaction() as cookie:
        return cookie["csrf"]


def test_a_copied_cookie_stops_working_after_a_password_change(app, client, kit):
    sign_in(client)
    thief = copy_session(client, app)
    assert works(thief)
    with session_scope(kit.engine) as session:
        assert change_password(Ledger(session), ANNA, "a new long passphrase") == 1
    assert not works(thief) and not works(client)
    assert activate(thief, kit).status_code == 302 and order_status(kit) == "authorised"
    assert session_rows(kit) == [("password_changed", HOME)]
    assert sign_in(client).status_code == 401  # the old password is gone
    assert sign_in(client, password="a new long passphrase").status_code == 302


def test_a_copied_cookie_stops_working_after_the_user_is_removed(app, client, kit):
    sign_in(client)
    thief = copy_session(client, app)
    with session_scope(kit.engine) as session:
        assert remove_user(Ledger(session), ANNA) == 1
    assert not works(thief)
    assert activate(thief, kit).status_code == 302 and order_status(kit) == "authorised"
    assert session_rows(kit) == []


def test_a_session_unused_for_the_idle_time_ends(client, kit):
    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client)
        clock.shift(timedelta(minutes=29))
        assert works(client)  # used: the idle time starts again
        clock.shift(timedelta(minutes=29))
        assert works(client)
        clock.shift(timedelta(minutes=30))
        assert not works(client)
        assert activate(client, kit).status_code == 302
    assert order_status(kit) == "authorised"
    assert session_rows(kit) == [("idle", HOME)]


def test_a_session_in_use_ends_after_the_absolute_time(client, kit):
    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client)
        for _ in range(11 * 3 + 2):  # every 20 minutes for 11 h 40 min
            clock.shift(timedelta(minutes=20))
            assert works(client)
        clock.shift(timedelta(minutes=20))  # 12 hours after signing in
        assert not works(client)
    assert session_rows(kit) == [("expired", HOME)]


def test_the_office_table_sets_the_lifetimes(kit, woo_shop):
    short = replace(kit, settings=replace(kit.settings, office={
        "session_idle_minutes": 5, "session_max_hours": 1}))
    client = make_office(short).test_client()
    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client)
        clock.shift(timedelta(minutes=6))
        assert not works(client)
        sign_in(client)
        for _ in range(14):
            clock.shift(timedelta(minutes=4))
            assert works(client)
        clock.shift(timedelta(minutes=4))  # 60 minutes
        assert not works(client)
    assert [reason for reason, _ in session_rows(kit)] == ["idle", "expired"]


def test_last_use_is_written_at_most_once_a_minute(client, kit):
    def last_seen() -> datetime:
        with session_scope(kit.engine) as session:
            return session.scalars(select(OfficeSession.last_seen_at)).one()

    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client)
        clock.shift(timedelta(seconds=50))
        assert works(client)
        assert last_seen() == T0
        clock.shift(timedelta(seconds=20))
        assert works(client)
        assert last_seen() == T0 + timedelta(seconds=70)


# -- locks ----------------------------------------------------------------------------------


def test_a_locked_account_answers_after_a_password_hash_check(client, monkeypatch):
    for _ in range(5):
        assert sign_in(client, password="wrong password!!", address=AWAY).status_code == 401
    checks = []
    real = core.users.check_password_hash
    monkeypatch.setattr(core.users, "check_password_hash",
                        lambda stored, given: checks.append(stored) or real(stored, given))
    assert sign_in(client, address=AWAY).status_code == 401  # locked: right password too
    assert len(checks) == 1 and checks[0].startswith("scrypt:")
    assert sign_in(client, email="nobody@acme.example", address=AWAY).status_code == 401
    assert len(checks) == 2  # an unknown e-mail: the same single check


def test_wrong_passwords_from_one_address_do_not_lock_out_the_real_user(app, client, kit):
    for _ in range(8):
        sign_in(client, password="wrong password!!", address=AWAY)
    assert sign_in(client, address=AWAY).status_code == 401
    assert session_rows(kit) == []  # no session for the attacker's address
    real = app.test_client()
    assert sign_in(real, address=HOME).status_code == 302
    assert works(real)
    other = app.test_client()
    assert sign_in(other, email=OTTO, address=AWAY).status_code == 302  # only anna's locked
    outcomes = [e.outcome for e in audit_rows(kit, actor=ANNA, client_address=AWAY)]
    assert outcomes == ["failed"] * 5 + ["locked"] * 4


def test_the_lock_of_an_address_ends_after_fifteen_minutes_or_an_unlock(client, kit):
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(5):
            sign_in(client, password="wrong password!!", address=AWAY)
        assert sign_in(client, address=AWAY).status_code == 401
        clock.shift(timedelta(minutes=15, seconds=1))
        assert sign_in(client, address=AWAY).status_code == 302
        for _ in range(5):
            sign_in(client, password="wrong password!!", address=AWAY)
        assert sign_in(client, address=AWAY).status_code == 401
        with session_scope(kit.engine) as session:
            assert unlock_user(Ledger(session), ANNA) == [AWAY]
        assert sign_in(client, address=AWAY).status_code == 302


def test_a_success_resets_the_count_of_its_address(client):
    for _ in range(4):
        sign_in(client, password="wrong password!!")
    assert sign_in(client).status_code == 302
    for _ in range(4):
        sign_in(client, password="wrong password!!")
    assert sign_in(client).status_code == 302  # 4 + 4 failures, never 5 in a row
