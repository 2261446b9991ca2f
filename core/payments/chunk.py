"""What a chunk of a bank import books, collected and written a few statements at a time.

Booking a transfer decides the same as ever (:func:`core.payments.booking.book_chunk`):
the receivables it pays change in memory, loaded for the chunk. What it writes is kept
here and written by :meth:`ChunkBookings.drain`: the bank transactions (with their
outcome, once), then their payments, the journal (once per key and kind, as
:meth:`~core.ledger.store.Ledger.journal`), the changed receivables and charges, the
buyers' credit profiles (:func:`core.risk.limits.payments_settled`), the buyers' credit,
and the shops' write-backs (:func:`core.payments.shop_notices.payment_notices`), each in
the order booked. A write-back reports the order as it stands after its payment: before a
second payment of the same order changes it, the pending write-backs are written
(:meth:`touch`). All of it is the chunk's one transaction, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from core.ledger.db import among, slices
from core.ledger.models import BankTransactionRecord, Buyer, Movement, Order, Payment, Receivable
from core.ledger.store import Ledger
from core.payments.shop_notices import payment_notices
from core.receivables.book import Bookings
from core.risk.limits import payments_settled

__all__ = ["ChunkBookings"]

_RECORD_COLUMNS = [c.key for c in BankTransactionRecord.__table__.columns if c.key != "id"]


class ChunkBookings(Bookings):
    """The writes of a chunk's transactions, pending until :meth:`drain`."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger)
        self.records: list[BankTransactionRecord] = []  # transient: never in the session
        self.payments: list[tuple[dict[str, Any], BankTransactionRecord]] = []
        self.movements: list[dict[str, Any]] = []
        self.settles: list[tuple[Receivable, int | None, date]] = []
        self.credits: dict[int, int] = {}  # buyer id -> credit added
        self.notices: dict[int, tuple[int, date, str]] = {}  # order id -> amount, day, key
        self.record: BankTransactionRecord | None = None
        self.buyer_id: int | None = None

    def begin(self, record: BankTransactionRecord, buyer_id: int | None = None) -> None:
        """``record`` is the transaction booked now (its id is known once written)."""
        self.record, self.buyer_id = record, buyer_id
        self.records.append(record)

    def touch(self, receivable: Receivable) -> None:
        if receivable.order_id in self.notices:
            self._write_notices()

    def payment(self, values: dict[str, Any]) -> None:
        assert self.record is not None
        self.payments.append((values, self.record))

    def journal(self, **values: Any) -> None:
        self.movements.append(values)

    def settled(self, receivable: Receivable, paid_on: date) -> None:
        self.settles.append((receivable, self.buyer_id, paid_on))

    def paid(self, amounts: Sequence[tuple[int, int]], *, booked_on: date, key: str) -> None:
        for order_id, amount in amounts:
            before = self.notices.get(order_id)
            self.notices[order_id] = ((before[0] if before else 0) + amount, booked_on, key)

    def credit(self, buyer: Buyer, amount: int, *, order_id: int, currency: str, key: str,
               kind: str, description: str) -> None:
        self.credits[buyer.id] = self.credits.get(buyer.id, 0) + amount
        self.journal(merchant_id=buyer.merchant_id, order_id=order_id, kind=kind,
                     amount=-amount, currency=currency, idempotency_key=key,
                     description=description, document_number=None)

    # -- writing --------------------------------------------------------------------------

    def _write_notices(self) -> None:
        """The pending write-backs, each order as it stands now (its one payment since the
        last write booked)."""
        session = self.ledger.session
        session.flush()
        paid = [(session.get(Order, order_id), amount, day, key)
                for order_id, (amount, day, key) in self.notices.items()]
        self.notices.clear()
        payment_notices(self.ledger, paid)

    def drain(self) -> None:
        """Write everything pending, in the order it was booked."""
        session = self.ledger.session
        connection = session.connection()
        if self.records:
            now = datetime.now(UTC)
            rows = []
            for record in self.records:
                record.to_credit = record.to_credit or 0
                record.imported_at = record.imported_at or now
                rows.append({key: getattr(record, key) for key in _RECORD_COLUMNS})
            table = BankTransactionRecord.__table__
            connection.execute(insert(table), rows)  # then their ids, by their unique keys
            ids = dict(connection.execute(select(table.c.key, table.c.id).where(
                among(session, table.c.key, [record.key for record in self.records]))).all())
            for record in self.records:
                record.id = ids[record.key]
            self.records.clear()
        if self.payments:
            rows = [dict(values, transaction_id=record.id) for values, record in self.payments]
            connection.execute(insert(Payment.__table__), rows)
            self.payments.clear()
        if self.movements:
            self._write_journal()
        session.flush()
        if self.settles:
            payments_settled(session, self.settles)
            self.settles.clear()
            session.flush()
        if self.credits:
            # in the database, not from the rows as read: concurrent imports add up
            connection.execute(
                update(Buyer.__table__).where(Buyer.__table__.c.id == bindparam("buyer"))
                .values(credit=Buyer.__table__.c.credit + bindparam("amount")),
                [{"buyer": b, "amount": a} for b, a in sorted(self.credits.items())])
            for buyer_id in self.credits:
                buyer = session.get(Buyer, buyer_id)
                if buyer is not None:
                    session.expire(buyer, ["credit"])
            self.credits.clear()
        if self.notices:
            self._write_notices()

    def _write_journal(self) -> None:
        """The pending movements, once per (key, kind): those stored before, or earlier in
        this chunk, are left out."""
        pairs = {(m["idempotency_key"], m["kind"]) for m in self.movements}
        keys = sorted({key for key, _ in pairs})
        stored: set[tuple[str, str]] = set()
        for part in slices(keys):
            stored.update(self.ledger.session.execute(
                select(Movement.idempotency_key, Movement.kind)
                .where(among(self.ledger.session, Movement.idempotency_key, part))).all())
        rows = []
        for movement in self.movements:
            pair = (movement["idempotency_key"], movement["kind"])
            if pair not in stored:
                stored.add(pair)
                rows.append(movement)
        self.movements.clear()
        if rows:
            self.ledger.session.connection().execute(insert(Movement.__table__), rows)
