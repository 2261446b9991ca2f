"""What a batch of the daily tick reads, in a few queries for the whole batch rather than
a few per receivable: the receivables due with what their steps and notices need, and the
receivables of the notices to send or recorded as sent."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.ledger.models import Merchant, Order, Receivable

__all__ = ["due_batch", "receivables_by_id"]


def due_batch(session: Session, ids: list[int], day: date) -> list[Receivable]:
    """The receivables ``ids`` still due on ``day`` that no other worker holds, locked, with
    what their steps and notices need (their steps, charges, invoices, orders, merchants)
    in the session: a few queries for the whole batch."""
    receivables = list(session.scalars(
        select(Receivable).where(Receivable.id.in_(ids), Receivable.next_step_on <= day)
        .order_by(Receivable.next_step_on, Receivable.id)
        .options(selectinload(Receivable.steps), selectinload(Receivable.charges),
                 selectinload(Receivable.invoice))
        .with_for_update(skip_locked=True)))
    for model, wanted in ((Order, {r.order_id for r in receivables}),
                          (Merchant, {r.merchant_id for r in receivables})):
        if wanted:  # held in the session (its identity map is weak): session.get finds them
            session.info.setdefault("held", []).extend(
                session.scalars(select(model).where(model.id.in_(sorted(wanted)))))
    return receivables


def receivables_by_id(session: Session, ids: set[int], lock: bool = False) -> dict[int, Receivable]:
    """The receivables ``ids`` with their charges, and their steps if ``lock`` (then locked
    and read afresh), by id."""
    query = select(Receivable).where(Receivable.id.in_(sorted(ids))).options(
        selectinload(Receivable.charges))
    if lock:
        query = query.options(selectinload(Receivable.steps)).with_for_update() \
            .execution_options(populate_existing=True)
    return {r.id: r for r in session.scalars(query)} if ids else {}
