"""The statement's movements read alone, with their orders and documents read once each
(``core.statements.journal.journal_parts``), are the rows the joined text query gives
(``_rows_query(..., text=...)``), in its order, on either backend, however few orders and
documents are kept."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from test_statements import WEEK, week  # noqa: F401  (the fixture)

from conftest import MERCHANT_ID
from core.ledger.db import session_scope
from core.ledger.models import Merchant, Movement, Order
from core.statements import journal
from core.statements.build import _rows_query, parse_week


def joined(engine, monday: date) -> list[tuple[object, ...]]:
    with session_scope(engine, write=False) as session:
        merchant = session.get(Merchant, MERCHANT_ID)
        query = _rows_query(merchant, monday, text=engine.dialect.name)
        return [tuple(row) for row in session.execute(query)]


def parts(engine, monday: date) -> list[tuple[object, ...]]:
    with session_scope(engine, write=False) as session:
        merchant = session.get(Merchant, MERCHANT_ID)
        return [(*row[:5], *tail) for row, tail in journal.journal_parts(session, merchant,
                                                                        monday)]


@pytest.mark.parametrize(("batch", "kept"), [(2000, 50_000), (2, 1), (3, 2)])
def test_the_movements_with_their_orders_and_documents_are_the_joined_rows(
        engine, week, monkeypatch, batch, kept):  # noqa: F811
    monkeypatch.setattr(journal, "BATCH", batch)
    monkeypatch.setattr(journal, "KEPT", kept)
    monday, _ = parse_week(WEEK)
    expected = joined(engine, monday)
    assert len(expected) > 5
    assert parts(engine, monday) == expected


def test_a_movement_of_another_providers_order_is_left_out(engine, week):  # noqa: F811
    monday, _ = parse_week(WEEK)
    before = len(joined(engine, monday))
    with session_scope(engine) as session:
        order_id = session.scalars(select(Movement.order_id).order_by(Movement.id)).first()
        session.get(Order, order_id).provider = "billie"
    expected = joined(engine, monday)
    assert 0 < len(expected) < before
    assert parts(engine, monday) == expected
