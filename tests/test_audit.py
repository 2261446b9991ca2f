"""The audit record: who signed in, failed to, signed out, and every office POST (order
actions, call outcomes, the dunning choice, payment confirmations, uploads, replays) with
its outcome; ``invoicekit audit`` lists them newest first. Passwords never reach it."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import pytest
import time_machine
from click.testing import CliRunner
from office_users import (
    ANNA,
    AWAY,
    HOME,
    OTTO,
    PASSWORD,
    activate,
    audit_rows,
    form_token,
    make_office,
    order_id,
    order_status,
    sign_in,
)
from sqlalchemy import select

from conftest import MERCHANT_ID
from core.ledger.db import session_scope
from core.ledger.models import (
    AuditEvent,
    BankTransactionRecord,
    Delivery,
    DunningStep,
    OperationRecord,
    Order,
    Receivable,
)
from core.ledger.store import Ledger
from webhooks.cli import main


@pytest.fixture
def client(kit, woo_shop):
    return make_office(kit).test_client()


def _columns(event: AuditEvent) -> str:
    return " ".join(str(v) for v in (event.actor, event.action, event.outcome, event.detail))


def test_sign_ins_failures_and_sign_out_are_recorded_without_passwords(client, kit):
    assert sign_in(client, email=" Anna@ACME.example ", password="wrong password!!",
                   address=AWAY).status_code == 401
    assert sign_in(client, email="nobody@acme.example", password="secret guess 1",
                   address=AWAY).status_code == 401
    assert sign_in(client).status_code == 302
    assert client.post("/office/sign-out", data={"csrf": form_token(client)}).status_code == 302
    failed, unknown, ok, out = audit_rows(kit)
    assert (failed.action, failed.outcome, failed.actor, failed.client_address) == (
        "sign-in", "failed", ANNA, AWAY)  # the account's e-mail: its user id is known
    assert (failed.user_id, failed.merchant_id, failed.detail) == (
        ok.user_id, MERCHANT_ID, "wrong password")
    assert (unknown.actor, unknown.user_id, unknown.merchant_id, unknown.detail) == (
        "nobody@acme.example", None, None, "unknown e-mail")
    assert (ok.action, ok.outcome, ok.actor, ok.client_address) == ("sign-in", "ok", ANNA, HOME)
    assert (out.action, out.outcome, out.actor, out.user_id) == (
        "sign-out", "done", ANNA, ok.user_id)
    for event in (failed, unknown, ok, out):
        text = _columns(event)
        assert "wrong password!!" not in text and "secret guess" not in text
        assert PASSWORD not in text


def test_an_order_action_names_the_user_in_the_operation_the_audit_and_the_timeline(
        client, kit):
    from backoffice.orders import _timeline

    sign_in(client)
    oid = order_id(kit)
    activate(client, kit)
    assert order_status(kit) == "active"
    nonce = secrets.token_urlsafe(12)
    for _ in range(2):  # the confirmation sent twice: reduced once
        client.post(f"/office/orders/{oid}/reduce",
                    data={"csrf": form_token(client), "nonce": nonce, "amount": "10.00"})
    (anna_id,) = {e.user_id for e in audit_rows(kit, actor=ANNA)}
    with session_scope(kit.engine) as session:
        sources = session.scalars(select(OperationRecord.source).where(
            OperationRecord.order_id == oid, OperationRecord.kind == "partial_credit")).all()
        assert sources == [f"office:{anna_id}:{nonce}"]
        timeline = _timeline(Ledger(session), session.get(Order, oid))
    events = audit_rows(kit, action="order-reduce")
    assert [(e.actor, e.order_id, e.outcome, e.client_address) for e in events] == [
        (ANNA, oid, "done", HOME)] * 2
    assert "done: partial_credit 10.00 EUR" in events[0].detail
    assert "done already" in events[1].detail
    by = {e["what"].split(" (")[0]: e["by"] for e in timeline}
    assert by["operation partial_credit"] == ANNA and by["operation placement"] == "shop"
    assert by["office order-activate"] == ANNA and by["office order-reduce"] == ANNA
    assert by["operation activation"] == ""  # the shop's status or the office: see above
    assert all("by" in e for e in timeline)


def test_a_refused_post_is_recorded_and_changes_nothing(client, kit):
    sign_in(client)
    oid = order_id(kit)
    answer = client.post(f"/office/orders/{oid}/activate", data={"csrf": "forged",
                                                                 "nonce": "n1"})
    assert answer.status_code == 400
    assert order_status(kit) == "authorised"
    (event,) = audit_rows(kit, action="order-activate")
    assert (event.outcome, event.order_id, event.actor) == ("refused", oid, ANNA)
    assert event.detail.startswith("400 the form has expired")



def test_another_merchants_post_leaves_no_trace_in_the_orders_timeline(client, kit):
    sign_in(client, email=OTTO)
    oid = order_id(kit)  # merchant 3333's order; otto is a user of 4444
    for form in ({"csrf": "forged", "nonce": "n1"}, {"csrf": form_token(client), "nonce": "n2"}):
        assert client.post(f"/office/orders/{oid}/cancel", data=form).status_code in (400, 404)
    assert order_status(kit) == "authorised"
    events = audit_rows(kit, action="order-cancel")
    assert len(events) == 2 and {e.order_id for e in events} == {None}
    assert all(f"order_id {oid}" in e.detail for e in events)
    client.post("/office/sign-out", data={"csrf": form_token(client)})
    sign_in(client)  # anna of 3333 sees her order's timeline without otto in it
    assert OTTO not in client.get(f"/office/orders/{oid}").get_data(as_text=True)

def test_calls_the_dunning_choice_payments_and_replays_are_recorded(client, kit):
    sign_in(client)
    activate(client, kit)
    oid = order_id(kit)
    with session_scope(kit.engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        step = DunningStep(receivable_id=receivable.id, step_id="call", action="call",
                           channel="call", scheduled_on=receivable.due_on,
                           taken_on=receivable.due_on, status="open")
        transfer = BankTransactionRecord(
            key="tx-1", file_name="statement.xml", account_iban="DE02100100100000000001",
            amount=549_73, currency="EUR", credit=True, reversal=False,
            booked_on=receivable.due_on, debtor_name="Muster", remittance="Rechnung 1001",
            status="proposed", proposed_order_id=oid)
        delivery = Delivery(connection_id=Ledger(session).connection("acme").id,
                            dedupe_key="dead-1", topic="order.updated", shop_order_id="1001",
                            headers={}, body=b"{}", status="dead", attempts=5, error="gone")
        session.add_all([step, transfer, delivery])
        session.flush()
        ids = step.id, transfer.id, delivery.id
    token = form_token(client)
    client.post(f"/office/calls/{ids[0]}", data={"csrf": token, "outcome": "pays Friday"})
    client.post("/office/dunning-choice", data={"csrf": token, "final": "cancel",
                                                "confirm": "yes"})
    client.post(f"/office/payments/{ids[1]}/confirm", data={"csrf": token, "confirm": "yes"})
    client.post(f"/office/deliveries/{ids[2]}/replay", data={"csrf": token, "confirm": "yes"})
    rows = {e.action: e for e in audit_rows(kit) if e.action not in ("sign-in",
                                                                      "order-activate")}
    assert set(rows) == {"record-call", "dunning-choice", "confirm-payment", "replay"}
    assert all(e.actor == ANNA and e.outcome == "done" for e in rows.values())
    assert rows["record-call"].order_id == oid
    assert f"step_id {ids[0]}" in rows["record-call"].detail
    assert rows["confirm-payment"].order_id == oid
    assert "549.73" in rows["confirm-payment"].detail
    assert "cancel" in rows["dunning-choice"].detail
    assert f"delivery_id {ids[2]}" in rows["replay"].detail
    assert "order.updated of order 1001" in rows["replay"].detail


def test_a_refused_upload_is_recorded_with_its_file_name(client, kit, tmp_path):
    sign_in(client)
    path = tmp_path / "march.xml"
    path.write_text("<Document>not a statement</Document>", encoding="utf-8")
    with path.open("rb") as file:
        answer = client.post("/office/payments/upload", content_type="multipart/form-data",
                             data={"csrf": form_token(client), "statement": (file, path.name)})
    assert answer.status_code == 302
    (event,) = audit_rows(kit, action="upload-statement")
    assert event.outcome == "failed" and "march.xml: refused, nothing booked" in event.detail
    with session_scope(kit.engine) as session:
        assert session.scalar(select(BankTransactionRecord.id)) is None


@pytest.fixture
def cli(monkeypatch, kit, database_url, tmp_path):
    monkeypatch.setenv("INVOICEKIT_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("INVOICEKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICEKIT_QUEUE_URL", "memory://")

    def run(*args: object, ok: bool = True):
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert (result.exit_code == 0) == ok, result.output
        return result

    run("db", "upgrade")  # makes the instance folder (and says so) once
    return run


def test_the_audit_command_lists_newest_first_with_filters(client, kit, cli):
    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        sign_in(client, email=OTTO)
    with time_machine.travel(datetime(2026, 3, 4, 9, tzinfo=UTC)):
        sign_in(client)
        activate(client, kit)
    listed = json.loads(cli("audit", "--json").output)
    assert [(e["actor"], e["action"]) for e in listed] == [
        (ANNA, "order-activate"), (ANNA, "sign-in"), (OTTO, "sign-in")]
    assert [e["actor"] for e in json.loads(cli("audit", "--merchant", 4444, "--json").output)
            ] == [OTTO]
    assert [e["action"] for e in json.loads(cli("audit", "--user", "ANNA@acme.example",
                                                "--json").output)] == [
        "order-activate", "sign-in"]
    oid = order_id(kit)
    assert [e["order"] for e in json.loads(cli("audit", "--order", oid, "--json").output)
            ] == [oid]
    assert [e["actor"] for e in json.loads(cli("audit", "--since", "2026-03-03",
                                               "--json").output)] == [ANNA, ANNA]
    assert len(json.loads(cli("audit", "--limit", 1, "--json").output)) == 1
    text = cli("audit", "--user", OTTO).output
    assert text.startswith("2026-03-02 09:00:00  otto@other.example  sign-in  ok")
    assert "use YYYY-MM-DD" in cli("audit", "--since", "yesterday", ok=False).output
