"""``invoicekit users``: list, password, unlock, remove, sessions. A password change and a
removal end the user's sessions (a copied cookie stops working); refusals change nothing
and name the problem; passwords are never echoed; each change is in the audit record."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from office_users import (
    ANNA,
    AWAY,
    HOME,
    OTTO,
    PASSWORD,
    audit_rows,
    copy_session,
    make_office,
    session_rows,
    sign_in,
    works,
)
from sqlalchemy import select

from conftest import MERCHANT_ID
from core.ledger.db import session_scope
from core.ledger.models import User
from webhooks.cli import main

NEW = "a brand new passphrase"


@pytest.fixture
def app(kit, woo_shop):
    return make_office(kit)


@pytest.fixture
def cli(monkeypatch, app, database_url, tmp_path):
    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")

    def run(*args: object, ok: bool = True, input: str | None = None):
        result = CliRunner().invoke(main, [str(a) for a in args], input=input)
        assert (result.exit_code == 0) == ok, result.output
        return result

    run("db", "upgrade")
    return run


def password_hash(kit, email: str = ANNA) -> str:
    with session_scope(kit.engine) as session:
        return session.scalars(select(User.password_hash).where(User.email == email)).one()


def test_list_shows_merchant_last_sign_in_locks_and_sessions(app, cli):
    sign_in(app.test_client())
    for _ in range(5):
        sign_in(app.test_client(), password="wrong password!!", address=AWAY)
    rows = json.loads(cli("users", "list", "--json").stdout)
    assert [(r["email"], r["merchant"]) for r in rows] == [(ANNA, MERCHANT_ID), (OTTO, 4444)]
    anna, otto = rows
    assert anna["last_sign_in"] and otto["last_sign_in"] is None
    assert (anna["locked_for"], anna["active_sessions"]) == ([AWAY], 1)
    assert (otto["locked_for"], otto["active_sessions"]) == ([], 0)
    text = cli("users", "list", "--merchant", 4444).stdout
    assert text.startswith(f"{OTTO}  merchant 4444  created ") and ANNA not in text
    assert "last sign-in never  not locked  0 session(s)" in text
    assert f"locked for {AWAY}  1 session(s)" in cli("users", "list").stdout


def test_a_password_change_ends_the_sessions_and_is_recorded(app, cli, kit):
    client = app.test_client()
    sign_in(client)
    thief = copy_session(client, app)
    result = cli("users", "password", ANNA.upper(), "--password-stdin", input=f"{NEW}\n")
    assert result.stdout == f"password of {ANNA} changed; 1 session(s) ended\n"
    assert NEW not in result.output
    assert not works(thief) and not works(client)
    assert session_rows(kit) == [("password_changed", HOME)]
    assert sign_in(client).status_code == 401 and sign_in(client, password=NEW).status_code == 302
    (event,) = audit_rows(kit, action="password")
    assert (event.actor, event.outcome, event.merchant_id) == ("cli", "done", MERCHANT_ID)
    assert NEW not in (event.detail or "")


def test_the_password_is_asked_twice(cli, kit):
    before = password_hash(kit)
    result = cli("users", "password", ANNA, input=f"{NEW}\nsomething else\n{NEW}\n{NEW}\n")
    assert "do not match" in result.output and NEW not in result.output
    assert password_hash(kit) != before


def test_a_short_password_is_refused_and_changes_nothing(app, cli, kit):
    client = app.test_client()
    sign_in(client)
    before = password_hash(kit)
    result = cli("users", "password", ANNA, "--password-stdin", input="too short\n", ok=False)
    assert "at least 12 characters" in result.output
    assert password_hash(kit) == before and works(client)
    assert audit_rows(kit, action="password") == []


@pytest.mark.parametrize("command", ["password", "unlock", "remove", "sessions"])
def test_an_unknown_email_is_named_and_nothing_changes(cli, kit, command):
    result = cli("users", command, "nobody@acme.example", ok=False, input=f"{NEW}\n{NEW}\n")
    assert result.exit_code == 1
    assert "Error: no back-office user nobody@acme.example" in result.output
    assert "New password" not in result.output  # refused before asking
    assert audit_rows(kit, actor="cli") == []


def test_unlock_clears_the_locks_of_every_address(app, cli, kit):
    client = app.test_client()
    for address in (HOME, AWAY):
        for _ in range(5):
            sign_in(client, password="wrong password!!", address=address)
    assert sign_in(client).status_code == 401
    result = cli("users", "unlock", ANNA)
    assert result.stdout == f"{ANNA} unlocked (was locked for {HOME}, {AWAY})\n"
    assert sign_in(client).status_code == 302
    assert sign_in(app.test_client(), address=AWAY).status_code == 302
    (event,) = audit_rows(kit, action="unlock")
    assert event.actor == "cli" and AWAY in event.detail
    assert cli("users", "unlock", OTTO).stdout == f"{OTTO} unlocked (was not locked)\n"


def test_remove_ends_the_sessions_and_the_audit_keeps_the_email(app, cli, kit):
    client = app.test_client()
    sign_in(client)
    thief = copy_session(client, app)
    assert cli("users", "remove", ANNA).stdout == f"user {ANNA} removed; 1 session(s) ended\n"
    assert not works(thief) and not works(client)
    assert session_rows(kit) == []
    with session_scope(kit.engine) as session:
        assert session.scalars(select(User.email)).all() == [OTTO]
    assert [e.outcome for e in audit_rows(kit, actor=ANNA)] == ["ok"]  # the sign-in, kept
    (event,) = audit_rows(kit, action="remove")
    assert event.actor == "cli" and ANNA in event.detail
    assert sign_in(client).status_code == 401


def test_sessions_lists_the_running_ones(app, cli):
    assert cli("users", "sessions", ANNA).stdout == "no running sessions\n"
    sign_in(app.test_client())
    sign_in(app.test_client(), address=AWAY)
    lines = cli("users", "sessions", ANNA).stdout.splitlines()
    assert [line.split("  from ")[1] for line in lines] == [HOME, AWAY]
    assert all(line.startswith("started ") and "last used" in line for line in lines)


def test_add_asks_for_the_password_and_never_echoes_it(cli):
    result = cli("users", "add", "bea@acme.example", "--merchant", MERCHANT_ID,
                 input=f"{PASSWORD}x\n{PASSWORD}x\n")
    assert "user bea@acme.example of merchant 3333 added" in result.output
    assert f"{PASSWORD}x" not in result.output


def test_a_removed_users_id_is_never_given_again(cli, kit):
    """The newest user removed, the next one added gets a new id, not the removed one's
    (which its audit events and office operations name): AUTOINCREMENT on SQLite."""
    def user_id(email: str) -> int:
        with session_scope(kit.engine) as session:
            return session.scalars(select(User.id).where(User.email == email)).one()

    cli("users", "add", "bea@acme.example", "--merchant", MERCHANT_ID,
        input=f"{PASSWORD}\n{PASSWORD}\n")
    removed = user_id("bea@acme.example")
    assert removed == max(user_id(ANNA), user_id(OTTO), removed)  # the newest
    cli("users", "remove", "bea@acme.example")
    cli("users", "add", "carl@acme.example", "--merchant", MERCHANT_ID,
        input=f"{PASSWORD}\n{PASSWORD}\n")
    assert user_id("carl@acme.example") > removed
