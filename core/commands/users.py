"""The ``invoicekit users`` commands (back-office users: add, list, password, unlock,
remove, sessions) and ``invoicekit audit`` (who did what). Passwords are read from a prompt
or standard input, never from the command line's output, and never echoed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any, TypeVar

import click
from sqlalchemy import func, select

from core.audit import CLI, events, record
from core.clitools import echo_rows, fail, kit_or_fail, parse_day
from core.errors import InvoicekitError
from core.kit import Kit
from core.ledger.db import session_scope
from core.ledger.models import AuditEvent, User
from core.ledger.store import Ledger
from core.office_sessions import active_sessions, session_limits
from core.users import (
    SIGN_IN,
    change_password,
    create_user,
    locked_addresses,
    remove_user,
    unlock_user,
    user_by_email,
)

__all__ = ["audit", "users"]

T = TypeVar("T")


def _in_ledger(kit: Kit, change: Callable[[Ledger], T]) -> T:
    """Run ``change`` in one transaction; the kit's errors end the command with their
    message (an unknown e-mail: ``no back-office user ...``)."""
    try:
        with session_scope(kit.engine) as session:
            return change(Ledger(session))
    except InvoicekitError as exc:
        fail(exc)


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@click.group()
def users() -> None:
    """Users of the merchants' back office (``/office``)."""


@users.command("add")
@click.argument("email")
@click.option("--merchant", "merchant_id", type=int, required=True)
@click.password_option(help="At least 12 characters [prompted for, twice].")
def users_add(email: str, merchant_id: int, password: str) -> None:
    """Add a back-office user of MERCHANT (the password is stored as a scrypt hash)."""
    kit = kit_or_fail()

    def add(ledger: Ledger) -> None:
        user = create_user(ledger, merchant_id, email, password)
        record(ledger, actor=CLI, action="add", outcome="done", user_id=user.id,
               merchant_id=merchant_id, detail=f"user {user.email} added")

    _in_ledger(kit, add)
    click.echo(f"user {email.strip().lower()} of merchant {merchant_id} added; sign in at "
               f"{kit.settings.public_url}/office/")


def _user_rows(ledger: Ledger, kit: Kit, merchant_id: int | None) -> list[dict[str, Any]]:
    limits = session_limits(kit.settings)
    query = select(User).order_by(User.merchant_id, User.email)
    if merchant_id is not None:
        query = query.where(User.merchant_id == merchant_id)
    rows = []
    for user in ledger.session.scalars(query):
        last = ledger.session.scalar(select(func.max(AuditEvent.at)).where(
            AuditEvent.user_id == user.id, AuditEvent.action == SIGN_IN,
            AuditEvent.outcome == "ok"))
        rows.append({"email": user.email, "merchant": user.merchant_id,
                     "created": user.created_at.isoformat(),
                     "last_sign_in": last.isoformat() if last else None,
                     "locked_for": locked_addresses(ledger, user.id),
                     "active_sessions": len(active_sessions(ledger, user.id, limits))})
    return rows


@users.command("list")
@click.option("--merchant", "merchant_id", type=int, help="Only this merchant's users.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def users_list(merchant_id: int | None, as_json: bool) -> None:
    """The users: merchant, created, last sign-in, the addresses their account is locked
    for, and how many sessions are running."""
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        rows = _user_rows(Ledger(session), kit, merchant_id)
    echo_rows(rows, as_json, _user_line, "no users")


def _user_line(r: dict[str, Any]) -> str:
    last = (r["last_sign_in"] or "never")[:16].replace("T", " ")
    locked = f"locked for {', '.join(r['locked_for'])}" if r["locked_for"] else "not locked"
    return (f"{r['email']}  merchant {r['merchant']}  created {r['created'][:10]}  "
            f"last sign-in {last}  {locked}  {r['active_sessions']} session(s)")


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("New password", hide_input=True, confirmation_prompt=True)


@users.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="Read the new password from the first line of standard input.")
def users_password(email: str, password_stdin: bool) -> None:
    """Set the password of EMAIL (at least 12 characters; prompted for, twice) and end the
    user's sessions: every browser signs in again."""
    kit = kit_or_fail()
    _in_ledger(kit, lambda ledger: user_by_email(ledger, email))  # before the prompt
    password = _new_password(password_stdin)
    ended = _in_ledger(kit, lambda ledger: change_password(ledger, email, password))
    click.echo(f"password of {email.strip().lower()} changed; {ended} session(s) ended")


@users.command("unlock")
@click.argument("email")
def users_unlock(email: str) -> None:
    """Clear the sign-in locks of EMAIL (from every address)."""
    locked = _in_ledger(kit_or_fail(), lambda ledger: unlock_user(ledger, email))
    where = f"was locked for {', '.join(locked)}" if locked else "was not locked"
    click.echo(f"{email.strip().lower()} unlocked ({where})")


@users.command("remove")
@click.argument("email")
def users_remove(email: str) -> None:
    """Remove EMAIL and end their sessions (the audit record keeps the e-mail)."""
    ended = _in_ledger(kit_or_fail(), lambda ledger: remove_user(ledger, email))
    click.echo(f"user {email.strip().lower()} removed; {ended} session(s) ended")


@users.command("sessions")
@click.argument("email")
def users_sessions(email: str) -> None:
    """The running sessions of EMAIL: started, last used, client address."""
    kit = kit_or_fail()

    def running(ledger: Ledger) -> list[tuple[datetime, datetime, str]]:
        user = user_by_email(ledger, email)
        return [(row.created_at, row.last_seen_at, row.client_address or "-")
                for row in active_sessions(ledger, user.id, session_limits(kit.settings))]

    rows = _in_ledger(kit, running)
    if not rows:
        click.echo("no running sessions")
    for started, seen, address in rows:
        click.echo(f"started {_time(started)}  last used {_time(seen)}  from {address}")


@click.command("audit")
@click.option("--merchant", "merchant_id", type=int, help="Only this merchant's events.")
@click.option("--user", "email", help="Only the events of this e-mail (as typed or signed in).")
@click.option("--order", "order_id", type=int, help="Only the events of this order (its id).")
@click.option("--since", help="From this day on (YYYY-MM-DD, UTC).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit(merchant_id: int | None, email: str | None, order_id: int | None,
          since: str | None, limit: int, as_json: bool) -> None:
    """Who did what in the back office and with the user commands, newest first."""
    start = datetime.combine(parse_day(since, "--since"), time(), UTC) if since else None
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        rows = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                 "outcome": e.outcome, "merchant": e.merchant_id, "user_id": e.user_id,
                 "order": e.order_id, "client_address": e.client_address,
                 "detail": e.detail}
                for e in events(session, merchant_id=merchant_id, actor=email,
                                order_id=order_id, since=start, limit=limit)]
    echo_rows(rows, as_json, _event_line, "no events")


def _event_line(r: dict[str, Any]) -> str:
    order = f"  order {r['order']}" if r["order"] is not None else ""
    address = f"  from {r['client_address']}" if r["client_address"] else ""
    detail = f"  {r['detail']}" if r["detail"] else ""
    return (f"{r['at'][:19].replace('T', ' ')}  {r['actor']}  {r['action']}  "
            f"{r['outcome']}{order}{address}{detail}")
