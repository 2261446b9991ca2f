"""A purchase timeline for receivables tests: day 0 is a Monday, the order is bought on it
and activated on a chosen day; the daily tick runs twice a day, under a travelling clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from conftest import MERCHANT_ID
from core.ledger.db import session_scope
from core.ledger.models import Invoice, Merchant, Receivable
from core.ledger.store import Ledger
from core.receivables.tick import DailyTick
from core.schemas import load_snapshot
from core.state import Status
from orders import order_data

DAY0 = date(2026, 3, 2)  # a Monday; the base rate of 2026 is in the table
CART = [("1", "product", "Standing desk", 1, "1000.00", "19")]  # 1,190.00 EUR


def at(day: int, hour: int = 9) -> datetime:
    return datetime.combine(DAY0 + timedelta(days=day), datetime.min.time(), UTC) \
        + timedelta(hours=hour)


@pytest.fixture
def configure(engine, shop):
    def configure(**fields):
        with session_scope(engine) as session:
            merchant = session.get(Merchant, MERCHANT_ID)
            for name, value in fields.items():
                setattr(merchant, name, value)
    return configure


@pytest.fixture
def buy(feed):
    """Place an order on day 0 and activate it on ``activate_on``."""

    def buy(order_id: str = "1001", *, activate_on: int | None = 0, **overrides):
        data = order_data(order_id, lines=CART, discounts=[], placed_at=at(0).isoformat(),
                          ordering_key=at(0).isoformat(), **overrides)
        with time_machine.travel(at(0), tick=False):
            assert feed(load_snapshot(data)).status is Status.AUTHORISED
        if activate_on is not None:
            with time_machine.travel(at(activate_on, 10), tick=False):
                completed = dict(data, status="completed",
                                 ordering_key=at(activate_on, 10).isoformat())
                assert feed(load_snapshot(completed)).status is Status.ACTIVE
        return order_id

    return buy


@pytest.fixture
def tick(engine, hooks, tmp_path):
    return DailyTick(engine, hooks, tmp_path)


def run(tick, first: int, last: int, *, each_day=None):
    """Run the tick twice a day from day ``first`` to ``last``; ``each_day(day)`` runs
    before the day's ticks."""
    for day in range(first, last + 1):
        if each_day:
            each_day(day)
        with time_machine.travel(at(day, 6), tick=False):
            for _ in range(2):
                report = tick.run(DAY0 + timedelta(days=day))
                assert report.errors == []


def steps(engine, order_id="1001"):
    """{installment or 1: [(step id, day taken, status)]} of the order's receivables."""
    with session_scope(engine, write=False) as session:
        order = Ledger(session).find_order("acme", order_id)
        out = {}
        for r in session.scalars(select(Receivable).where(Receivable.order_id == order.id)
                                 .order_by(Receivable.id)):
            out[r.installment or 1] = [(s.step_id, (s.taken_on - DAY0).days, s.status)
                                       for s in r.steps]
        return out


def taken(engine, order_id="1001"):
    return {n: [(step, day) for step, day, status in rows if status != "skipped"]
            for n, rows in steps(engine, order_id).items()}


def receivable(engine, order_id="1001"):
    with session_scope(engine, write=False) as session:
        order = Ledger(session).find_order("acme", order_id)
        r = session.scalars(select(Receivable).where(Receivable.order_id == order.id)).first()
        session.expunge(r)
        return r


def rf_of(engine, order_id: str) -> str:
    """The RF creditor reference of the order's invoice."""
    with session_scope(engine, write=False) as session:
        order = Ledger(session).find_order("acme", order_id)
        return session.scalars(select(Invoice.creditor_reference)
                               .where(Invoice.order_id == order.id)).one()
