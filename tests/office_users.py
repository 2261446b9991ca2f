"""What the tests of back-office sessions, users and the audit record share: an app with a
user of merchant 3333 (one order) and one of merchant 4444, signing in from an address, a
form token, and the session cookie copied into a second client (as a thief would)."""

from __future__ import annotations

import re
import secrets
from dataclasses import replace

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from conftest import MERCHANT_ID
from core.execute import process_snapshot
from core.ledger.db import session_scope
from core.ledger.models import AuditEvent, OfficeSession, Order, User
from core.ledger.store import Ledger
from core.schemas import load_snapshot
from core.users import create_user
from orders import order_data

PASSWORD = "correct horse battery"
ANNA, OTTO = "anna@acme.example", "otto@other.example"
HOME, AWAY = "127.0.0.1", "198.51.100.7"  # the user's address, an attacker's


def make_office(kit, *, test_config: dict | None = None) -> Flask:
    """The app on ``kit`` (with the ``woo_shop`` fixture's merchant 3333 and shop acme):
    users anna (3333) and otto (4444), and order 1001 of acme. The sign-in's rate limit is
    off (these tests sign in often from one address; tests/test_rate_limits.py tests it)."""
    from webhooks import create_app

    kit = replace(kit, settings=replace(kit.settings, office={
        "sign_in_per_minute": 0, **kit.settings.office}))

    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(id=4444, name="Other GmbH", country="DE", account_holder="Other",
                            bank_code="10020030", account_first=4_100_000_000,
                            account_last=4_100_009_999, kyc_verified=True)
        create_user(ledger, MERCHANT_ID, ANNA, PASSWORD)
        create_user(ledger, 4444, OTTO, PASSWORD)
    process_snapshot(kit.engine, kit.hooks, load_snapshot(order_data("1001", shop="acme",
                                                                     discounts=[])))
    return create_app({"TESTING": True, **(test_config or {})}, kit=kit)


def sign_in(client: FlaskClient, email: str = ANNA, password: str = PASSWORD,
            address: str = HOME):
    """Sign in through the form, from ``address``."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/office/sign-in", environ_base=environ).get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return client.post("/office/sign-in", environ_base=environ,
                       data={"csrf": token, "email": email, "password": password})


def form_token(client: FlaskClient) -> str:
    """The CSRF token of the client's session (made as a page with a form would)."""
    with client.session_transaction() as session:
        return session.setdefault("csrf", secrets.token_urlsafe(32))


def copy_session(client: FlaskClient, app: Flask) -> FlaskClient:
    """A second client holding a copy of ``client``'s session cookie."""
    form_token(client)
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def works(client: FlaskClient) -> bool:
    """Whether the client's session opens a signed-in page (else: sent to sign in)."""
    answer = client.get("/office/payments")
    if answer.status_code == 302:
        assert "/office/sign-in" in answer.headers["Location"]
        return False
    assert answer.status_code == 200
    return True


def order_id(kit, shop_order_id: str = "1001") -> int:
    with session_scope(kit.engine) as session:
        return session.scalars(select(Order.id).where(
            Order.shop_order_id == shop_order_id)).one()


def order_status(kit, shop_order_id: str = "1001") -> str:
    with session_scope(kit.engine) as session:
        return session.get(Order, order_id(kit, shop_order_id)).status


def activate(client: FlaskClient, kit, shop_order_id: str = "1001"):
    """POST the activation of the order, as its confirmation page would."""
    return client.post(f"/office/orders/{order_id(kit, shop_order_id)}/activate",
                       data={"csrf": form_token(client), "nonce": secrets.token_urlsafe(12)})


def session_rows(kit, email: str = ANNA) -> list[tuple[str | None, str | None]]:
    """(end reason, client address) of the user's sessions, oldest first."""
    with session_scope(kit.engine) as session:
        return [(row.end_reason, row.client_address) for row in session.scalars(
            select(OfficeSession).join(User).where(User.email == email)
            .order_by(OfficeSession.id))]


def audit_rows(kit, **where) -> list[AuditEvent]:
    """The audit events with the given column values, oldest first."""
    with session_scope(kit.engine) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        rows = list(session.scalars(query))
        session.expunge_all()
    return rows
