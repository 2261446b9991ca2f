"""A statement upload may be up to 20 MiB, every other back-office POST stays at the app's
body limit (1 MiB): the upload's limit applies before the form and its CSRF token are read."""

from __future__ import annotations

import io

import pytest
from office_users import (
    activate,
    audit_rows,
    form_token,
    make_office,
    sign_in,
)
from sqlalchemy import select
from test_payments_import import _entry, _tx, camt

from conftest import MERCHANT_ID
from core.ledger.db import session_scope
from core.ledger.models import BankTransactionRecord, Buyer, DunningStep, Receivable

MIB = 1024 * 1024


@pytest.fixture
def client(kit, woo_shop):
    client = make_office(kit).test_client()
    sign_in(client)
    assert activate(client, kit).status_code == 302
    return client


def big_statement(path, size: int, iban: str):
    """A camt.053 paying order 1001's invoice, padded with a comment to ``size`` bytes."""
    camt(path, 4, [_entry(4, "big", "549.73", 1, [
        _tx(4, amount="549.73", name="Muster", credited=iban)])])
    text = path.read_text(encoding="utf-8")
    pad = size - len(text.encode()) - len("<!--  -->")
    path.write_text(text.replace("</Document>", f"<!-- {'x' * pad} --></Document>"),
                    encoding="utf-8")
    assert path.stat().st_size == size
    return path


def upload(client, path):
    with path.open("rb") as file:
        return client.post("/office/payments/upload", content_type="multipart/form-data",
                           data={"csrf": form_token(client), "statement": (file, path.name)})


def own_iban(kit) -> str:
    with session_scope(kit.engine) as session:
        return session.scalars(select(Buyer.virtual_iban).where(
            Buyer.merchant_id == MERCHANT_ID)).first()


def test_a_statement_of_several_mib_is_imported(client, kit, tmp_path):
    path = big_statement(tmp_path / "week.xml", 3 * MIB // 2, own_iban(kit))
    answer = upload(client, path)
    assert answer.status_code == 302
    with session_scope(kit.engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        assert (receivable.status, receivable.paid) == ("settled", 549_73)
    (event,) = audit_rows(kit, action="upload-statement")
    assert event.outcome == "done" and "week.xml: 1 transactions" in event.detail


def test_a_statement_over_20_mib_is_refused_and_nothing_booked(client, kit, tmp_path):
    path = big_statement(tmp_path / "huge.xml", 20 * MIB + 1, own_iban(kit))
    assert upload(client, path).status_code == 413
    with session_scope(kit.engine) as session:
        assert session.scalar(select(BankTransactionRecord.id)) is None
        assert session.scalars(select(Receivable.paid)).one() == 0
    (event,) = audit_rows(kit, action="upload-statement")
    assert event.outcome == "refused" and event.detail.startswith("413")


def test_other_posts_keep_the_app_wide_limit(client, kit):
    with session_scope(kit.engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        session.add(DunningStep(receivable_id=receivable.id, step_id="call", action="call",
                                channel="call", scheduled_on=receivable.due_on,
                                taken_on=receivable.due_on, status="open"))
    with session_scope(kit.engine) as session:
        step = session.scalars(select(DunningStep.id)).one()
    big = {"csrf": form_token(client), "outcome": "buyer pays on Friday",
           "attachment": (io.BytesIO(b"x" * (MIB + 1)), "notes.txt")}  # a file, as uploads
    answer = client.post(f"/office/calls/{step}", data=big, content_type="multipart/form-data")
    assert answer.status_code == 413
    with session_scope(kit.engine) as session:
        assert session.get(DunningStep, step).status == "open"
