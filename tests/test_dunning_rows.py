"""The daily tick's batches with Core rows (``_take_batch``, ``_settle_rows``) leave the
ledger and the documents exactly as the ORM path they replace (taking each receivable on
its own, recording notices with ORM objects): steps, notices, receivables, charges,
movements, e-mails, letters and hand-over files, over a whole default policy."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select

from conftest import add_local_shop
from core.execute import process_snapshot
from core.hooks import Hooks
from core.ledger.db import session_scope
from core.ledger.models import Charge, DunningStep, Movement, Receivable
from core.ledger.store import Ledger
from core.plugins import get_plugin_manager
from core.receivables.book import record_payment
from core.receivables.tick import DailyTick
from core.schemas import load_snapshot
from orders import order_data
from testkit.pytest_plugin import migrated_engine
from timeline import CART, DAY0, at

ORDERS = ("1001", "1002", "1003", "1004")


POSTGRESQL = os.environ.get("INVOICEKIT_TEST_DATABASE_URL")


def ledger_in(folder: Path, url: str | None = None) -> Engine:
    """A fresh ledger: SQLite in ``folder``, or the PostgreSQL at ``url`` (tables dropped)."""
    engine = migrated_engine(url or f"sqlite:///{folder / 'kit.db'}")
    with session_scope(engine) as session:
        add_local_shop(Ledger(session))
    return engine


def scenario(folder: Path, hooks: Hooks, url: str | None = None) -> dict[str, Any]:
    """Four orders through 45 days (one paid in part on day 6, one in full on day 12, one
    activated late), the tick twice a day; what the ledger and the folder hold then."""
    folder.mkdir()
    engine = ledger_in(folder, url)
    for n, order_id in enumerate(ORDERS):
        data = order_data(order_id, lines=CART, discounts=[], placed_at=at(0).isoformat(),
                          ordering_key=at(0).isoformat())
        with time_machine.travel(at(0), tick=False):
            process_snapshot(engine, hooks, load_snapshot(data))
        with time_machine.travel(at(3 * n, 10), tick=False):
            process_snapshot(engine, hooks, load_snapshot(dict(
                data, status="completed", ordering_key=at(3 * n, 10).isoformat())))
    tick = DailyTick(engine, hooks, folder)
    for day in range(46):
        for order_id, paid_on, amount in (("1002", 6, 50000), ("1003", 12, 119000)):
            if day == paid_on:
                with session_scope(engine) as session:
                    ledger = Ledger(session)
                    record_payment(ledger, ledger.find_order("acme", order_id), amount,
                                   booked_on=DAY0 + timedelta(days=day),
                                   reference=f"BP{order_id}/3333", source="test",
                                   key=f"pay-{order_id}")
        with time_machine.travel(at(day, 6), tick=False):
            for _ in range(2):
                assert tick.run(DAY0 + timedelta(days=day)).errors == []
    with session_scope(engine, write=False) as session:
        state = {
            "steps": [(s.id, s.receivable_id, s.step_id, s.action, s.channel, s.scheduled_on,
                       s.taken_on, s.status, s.notice, s.outcome, s.error,
                       s.delivered_to and Path(s.delivered_to).name)
                      for s in session.scalars(select(DunningStep).order_by(DunningStep.id))],
            "receivables": [(r.id, r.status, r.stop_reason, r.default_on, r.next_step_on,
                             r.handover_batch_id, r.paid)
                            for r in session.scalars(select(Receivable).order_by(Receivable.id))],
            "charges": [(c.receivable_id, c.kind, c.claimed, c.paid, c.waived)
                        for c in session.scalars(select(Charge).order_by(Charge.id))],
            "movements": [(m.kind, m.amount, m.idempotency_key, m.order_id)
                          for m in session.scalars(select(Movement).order_by(Movement.id))],
        }
    state["files"] = {str(p.relative_to(folder)): p.read_bytes()
                      for name in ("outbox", "letters", "collection")
                      for p in sorted((folder / name).glob("*"))}
    engine.dispose()
    return state


@pytest.mark.parametrize("url", [
    None, pytest.param(POSTGRESQL, id="postgresql", marks=pytest.mark.skipif(
        not POSTGRESQL, reason="INVOICEKIT_TEST_DATABASE_URL not set"))])
def test_core_rows_leave_what_the_orm_path_leaves(tmp_path: Path, url: str | None,
                                                  monkeypatch: pytest.MonkeyPatch):
    """On SQLite, and on PostgreSQL (arrays: ``= ANY``, ``UPDATE ... FROM unnest``)."""
    hooks = Hooks(get_plugin_manager())
    core = scenario(tmp_path / "core", hooks, url)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the ORM path, please")

    monkeypatch.setattr(DailyTick, "_take_batch", refuse)  # then one receivable at a time
    monkeypatch.setattr(DailyTick, "_settle_rows", staticmethod(lambda *_: False))
    orm = scenario(tmp_path / "orm", hooks, url)
    assert {name for name, _ in core["files"].items()} == set(orm["files"])
    for name in ("steps", "receivables", "charges", "movements", "files"):
        assert core[name] == orm[name], name
    assert len(core["steps"]) > 12 and any(s[7] == "done" and s[4] == "letter"
                                           for s in core["steps"])
    assert any(kind == "dunning_fee" for kind, *_ in core["movements"])
