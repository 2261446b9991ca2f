"""Where transfers are stored and booked: each transaction of a statement file once, matched
transfers as payments of the buyer's invoices (the one the reference names first, then the
oldest), the rest as the buyer's credit; bank returns undo what they returned."""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from core.errors import ConfigurationError, NotFound
from core.ledger.db import among, session_scope, slices
from core.ledger.models import (
    BankTransactionRecord,
    Buyer,
    Charge,
    Invoice,
    Order,
    Payment,
    Receivable,
    ShopConnection,
)
from core.ledger.store import Ledger
from core.payments.chunk import ChunkBookings
from core.payments.files import read_bank_file
from core.payments.matching import Match, Matcher
from core.payments.transactions import BankTransaction
from core.receivables.book import (
    Bookings,
    change_buyer_credit,
    named_first,
    owes,
    pay,
    payable,
    payable_query,
    reverse_payments,
)

__all__ = ["CHUNK", "ImportSummary", "Payables", "assign", "book_chunk", "book_transaction",
           "buyer_currency",
           "check_merchant_file", "import_file", "read_ahead", "refund_credit",
           "stored_keys"]

CHUNK = 500  # transactions booked per database transaction


@dataclass
class ImportSummary:
    """What an import did: transactions per outcome (``booked``, ``proposed``,
    ``unmatched``, ``ignored``, ``duplicate``) and the money booked."""

    file_name: str
    outcomes: Counter[str] = field(default_factory=Counter)
    paid: Counter[str] = field(default_factory=Counter)  # per currency
    to_credit: Counter[str] = field(default_factory=Counter)

    def count(self, outcome: str, record: BankTransactionRecord | None) -> None:
        """Count a transaction as it is booked (a return later in the file that undoes
        it does not take it back out: the return is counted as a debit of its own)."""
        self.outcomes[outcome] += 1
        if record is not None and record.status == "booked" and record.credit:
            to_credit = record.to_credit or 0  # None until the record is written
            self.paid[record.currency] += record.amount - to_credit
            self.to_credit[record.currency] += to_credit

    def __str__(self) -> str:
        shown = {"booked": "matched", "proposed": "proposed", "unmatched": "unmatched",
                 "ignored": "ignored (debits)", "duplicate": "imported before"}
        parts = [f"{self.outcomes[name]} {label}" for name, label in shown.items()
                 if self.outcomes[name]]
        total = sum(self.outcomes.values())
        return f"{self.file_name}: {total} transactions: {', '.join(parts) or 'none'}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _record(transaction: BankTransaction, file_name: str) -> BankTransactionRecord:
    return BankTransactionRecord(
        key=_digest(transaction.key), file_name=file_name[:255],
        account_iban=transaction.account_iban, credited_iban=transaction.credited_iban,
        amount=transaction.amount, currency=transaction.currency, credit=transaction.credit,
        reversal=transaction.reversal, booked_on=transaction.booked_on,
        value_on=transaction.value_on,
        debtor_name=transaction.debtor_name[:140] if transaction.debtor_name else None,
        debtor_iban=transaction.debtor_iban,
        remittance="\n".join(transaction.remittance),
        creditor_reference=transaction.creditor_reference,
        end_to_end_id=transaction.end_to_end_id, status="unmatched")


def _latest_order(ledger: Ledger, buyer_id: int) -> int:
    return ledger.session.scalars(select(Order.id).where(Order.buyer_id == buyer_id)
                                  .order_by(Order.id.desc()).limit(1)).one()


class Payables:
    """The receivables the buyers of a batch can pay (as :func:`payable` reads them), read
    and locked for all of them in one query; then for each transfer taken from what is
    loaded, as the batch's payments left it. A buyer not read ahead, or any buyer once a
    bank return has reopened a receivable (:meth:`forget`), is read by :func:`payable`."""

    def __init__(self, session: Session, buyer_ids: set[int]) -> None:
        self._of: dict[int, list[Receivable]] = {buyer_id: [] for buyer_id in buyer_ids}
        ids = sorted(buyer_ids)
        for part in slices(ids):
            rows = session.execute(
                payable_query(charges=False).add_columns(Order.buyer_id)
                .join(Order, Order.id == Receivable.order_id)
                .where(among(session, Order.buyer_id, part)))
            read = []
            for receivable, buyer_id in rows:
                self._of[buyer_id].append(receivable)
                read.append(receivable)
            _load_charges(session, read)

    def forget(self) -> None:
        self._of.clear()

    def holds(self, buyer_id: int) -> bool:
        """Whether the buyer's receivables are loaded (else :meth:`of` reads them)."""
        return buyer_id in self._of

    def of(self, ledger: Ledger, buyer_id: int, first_order_ids: Sequence[int],
           ) -> list[Receivable]:
        loaded = self._of.get(buyer_id)
        if loaded is None:
            return payable(ledger, buyer_id=buyer_id, first_order_ids=first_order_ids)
        return named_first([r for r in loaded if owes(r)], first_order_ids)


def _load_charges(session: Session, receivables: Sequence[Receivable]) -> None:
    """Load the charges of ``receivables`` (as ``selectinload`` does) in one query."""
    if not receivables:
        return
    charges: dict[int, list[Charge]] = {r.id: [] for r in receivables}
    ids = list(charges)
    for part in slices(ids):
        for charge in session.scalars(select(Charge).where(
                among(session, Charge.receivable_id, part))
                .order_by(Charge.kind)):
            charges[charge.receivable_id].append(charge)
    for receivable in receivables:
        if "charges" not in receivable.__dict__:  # loaded before: left as it is
            set_committed_value(receivable, "charges", charges[receivable.id])


def _apply(ledger: Ledger, record: BankTransactionRecord, buyer_id: int,
           order_ids: Sequence[int], method: str, payables: Payables | None = None,
           bookings: Bookings | None = None) -> int:
    """Pay the buyer's open invoices with the transfer (the named orders' first, the one
    due first first); what is left becomes the buyer's credit. Returns the amount paid.
    ``bookings``: where the writes go (default: at once)."""
    found = payable(ledger, buyer_id=buyer_id, first_order_ids=order_ids) \
        if payables is None else payables.of(ledger, buyer_id, order_ids)
    receivables = [r for r in found if r.currency == record.currency]
    order_id = order_ids[0] if order_ids else None
    bookings = bookings or Bookings(ledger)
    allocations, left = pay(ledger, receivables, record.amount, booked_on=record.booked_on,
                            reference=record.remittance[:140] or record.creditor_reference,
                            source="bank", key=record.key[:48], transaction_id=record.id,
                            bookings=bookings)
    buyer = ledger.session.get(Buyer, buyer_id)
    record.status, record.matched_by = "booked", method
    record.buyer_id, record.merchant_id = buyer_id, buyer.merchant_id
    record.order_id = order_id or (receivables[0].order_id if allocations else None)
    record.proposed_order_id = None
    if left:
        record.to_credit = left
        bookings.credit(
            buyer, left, order_id=record.order_id or _latest_order(ledger, buyer_id),
            currency=record.currency, key=record.key, kind="buyer_credit",
            description=f"paid beyond the open invoices ({record.debtor_name or 'payer'})")
    return record.amount - left


def _reverse(ledger: Ledger, record: BankTransactionRecord) -> bool:
    """Undo the transfer this debit returns: on the same account, of the same amount, from
    the same payer account where both name one, and with the same end-to-end id where the
    return has one. ``False`` if there is none, or more than one to choose from (the
    merchant decides then)."""
    query = select(BankTransactionRecord).where(
        BankTransactionRecord.credit.is_(True), BankTransactionRecord.reversal.is_(False),
        BankTransactionRecord.reversed_by_id.is_(None),
        BankTransactionRecord.account_iban == record.account_iban,
        BankTransactionRecord.currency == record.currency,
        BankTransactionRecord.amount == record.amount,
        BankTransactionRecord.booked_on <= record.booked_on,
        BankTransactionRecord.status.in_(("booked", "proposed", "unmatched")))
    if not (record.end_to_end_id or record.debtor_iban):
        return False
    if record.end_to_end_id:
        query = query.where(BankTransactionRecord.end_to_end_id == record.end_to_end_id)
    if record.debtor_iban:
        query = query.where((BankTransactionRecord.debtor_iban == record.debtor_iban)
                            | BankTransactionRecord.debtor_iban.is_(None))
    found = ledger.session.scalars(query.limit(2).with_for_update()).all()
    if len(found) != 1:
        return False
    original = found[0]
    if original.status == "booked":
        payments = ledger.session.scalars(select(Payment).where(
            Payment.transaction_id == original.id, Payment.amount > 0)
            .order_by(Payment.id)).all()
        reverse_payments(ledger, payments, booked_on=record.booked_on,
                         key=record.key[:48], transaction_id=record.id)
        if original.to_credit:
            change_buyer_credit(
                ledger, ledger.session.get(Buyer, original.buyer_id), -original.to_credit,
                order_id=original.order_id or _latest_order(ledger, original.buyer_id),
                currency=original.currency, key=record.key, kind="buyer_credit",
                description="over-payment returned by the bank")
    record.buyer_id, record.merchant_id = original.buyer_id, original.merchant_id
    record.order_id, record.status, record.matched_by = original.order_id, "booked", "reversal"
    original.status, original.reversed_by_id = "reversed", record.id
    return True


def book_transaction(ledger: Ledger, matcher: Matcher, transaction: BankTransaction,
                     file_name: str, stored: set[str] | None = None,
                     payables: Payables | None = None,
                     ) -> tuple[str, BankTransactionRecord | None]:
    """Store and book one transaction once; returns its outcome and record (``None`` for a
    duplicate of one imported before). ``stored``, where given, holds the keys
    (:func:`_digest`) of the transactions of this batch stored already (read by
    :func:`stored_keys`); this one's is added to it. ``payables``: the receivables of the
    batch's buyers, read ahead."""
    key = _digest(transaction.key)
    if stored is not None:
        if key in stored:
            return "duplicate", None
        stored.add(key)
    elif ledger.session.scalar(select(BankTransactionRecord.id).where(
            BankTransactionRecord.key == key)) is not None:
        return "duplicate", None
    record = _record(transaction, file_name)
    ledger.session.add(record)
    ledger.session.flush()
    if not transaction.credit:  # money out: a bank return of a transfer, or not ours
        if not (transaction.reversal and _reverse(ledger, record)):
            record.status = "unmatched" if transaction.reversal else "ignored"
        elif payables is not None:
            payables.forget()  # it may have opened a receivable again
        return record.status, record
    match: Match = Match("none") if transaction.reversal else matcher.match(transaction)
    if match.certain and match.buyer_id is not None:
        _apply(ledger, record, match.buyer_id, match.order_ids, match.method, payables)
    elif match.method == "proposal":
        record.status, record.proposed_order_id = "proposed", match.order_id
        record.buyer_id = match.buyer_id
    return record.status, record


def _chunks(items: Iterable[BankTransaction], size: int) -> Iterator[list[BankTransaction]]:
    chunk: list[BankTransaction] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def stored_keys(session: Session, transactions: Sequence[BankTransaction]) -> set[str]:
    """The keys (:func:`_digest`) of ``transactions`` stored already, in one query."""
    keys = sorted({_digest(t.key) for t in transactions})
    if not keys:
        return set()
    return set(session.scalars(select(BankTransactionRecord.key)
                               .where(among(session, BankTransactionRecord.key, keys))))


def read_ahead(session: Session, buyer_ids: set[int]) -> list[object]:
    """Load what booking the transfers of ``buyer_ids`` reads row by row otherwise, in a
    few queries: the buyers, their orders with open receivables (shop connection and
    merchant; not their snapshot, lines and refunds, which the shops' write-backs of a
    chunk do not read: :mod:`core.payments.shop_notices`) and those orders' invoices. The
    session then finds them by key; the caller keeps the returned list so that they stay
    loaded."""
    if not buyer_ids:
        return []
    ids = sorted(buyer_ids)
    held: list[object] = list(session.scalars(select(Buyer).where(among(session, Buyer.id, ids))))
    open_orders = select(Receivable.order_id).where(
        Receivable.status.not_in(("settled", "cancelled", "cancelling")))
    orders = list(session.scalars(
        select(Order).where(among(session, Order.buyer_id, ids), Order.id.in_(open_orders))
        .options(defer(Order.snapshot),
                 joinedload(Order.connection).joinedload(ShopConnection.merchant))))
    held += orders
    order_ids = [order.id for order in orders]
    for part in slices(order_ids):
        held += session.scalars(select(Invoice).where(
            among(session, Invoice.order_id, part)))
    return held


def check_merchant_file(engine: Engine, path: Path, merchant_id: int) -> int:
    """Refuse a statement file a merchant uploads unless it holds only its own buyers'
    transfers: every transfer it can match must belong to ``merchant_id``, and it holds no
    bank return (those could undo another merchant's payment). Reads, books nothing;
    returns how many transactions the file holds."""
    count = 0
    with session_scope(engine, write=False) as session:
        matcher = Matcher(session)
        for transaction in read_bank_file(path):
            count += 1
            if transaction.reversal or not transaction.credit:
                raise ConfigurationError("the file holds bank returns or debits: the "
                                         "operator imports it (invoicekit payments import)")
            match = matcher.match(transaction)
            owner = session.scalar(select(Buyer.merchant_id).where(
                Buyer.id == match.buyer_id)) if match.buyer_id is not None else \
                session.scalar(select(ShopConnection.merchant_id).join(
                    Order, Order.connection_id == ShopConnection.id).where(
                    Order.id == match.order_id)) if match.order_id is not None else None
            if owner is not None and owner != merchant_id:
                raise ConfigurationError("the file holds transfers to another merchant's "
                                         "buyers: the operator imports it")
    return count


def import_file(engine: Engine, path: Path, *,
                progress: Callable[[int], None] | None = None,
                counted: Callable[[int], None] | None = None) -> ImportSummary:
    """Import one statement file: it is read through once to check it is whole and sound
    (a bad file books nothing), then booked in chunks; importing it again books nothing
    twice. ``counted`` hears the number of transactions, ``progress`` each chunk's size.
    The file is parsed once: the check keeps its chunks in a temporary file (pickled,
    read back one at a time), so memory stays flat whatever the file's size."""
    summary = ImportSummary(path.name)
    with tempfile.TemporaryFile(prefix="invoicekit-import-") as spill:
        chunks = total = 0
        for chunk in _chunks(read_bank_file(path), CHUNK):
            pickle.dump(chunk, spill, protocol=pickle.HIGHEST_PROTOCOL)
            chunks, total = chunks + 1, total + len(chunk)
        if counted is not None:
            counted(total)
        spill.seek(0)
        for _ in range(chunks):
            chunk = pickle.load(spill)  # written just above by this process
            with session_scope(engine) as session:
                book_chunk(session, chunk, path.name, summary)
            if progress is not None:
                progress(len(chunk))
    return summary


def book_chunk(session: Session, chunk: Sequence[BankTransaction], file_name: str,
               summary: ImportSummary | None = None,
               ) -> list[tuple[str, BankTransactionRecord | None]]:
    """Book a chunk of a file's transactions in the session's transaction, as
    :func:`book_transaction` one after the other would: what it needs read ahead in a few
    queries (:func:`stored_keys`, :meth:`Matcher.prefetch`, :func:`read_ahead`,
    :class:`Payables`), its writes collected and written a few statements at a time
    (:class:`~core.payments.chunk.ChunkBookings`). From the first bank return that undoes a
    booked transfer on, the rest of the chunk is booked one by one (the return reads and
    changes what was booked before it). Returns each transaction's outcome and record,
    each counted in ``summary`` as it is booked."""
    ledger, matcher = Ledger(session), Matcher(session)
    stored = stored_keys(session, chunk)
    fresh = [t for t in chunk if _digest(t.key) not in stored]
    matcher.prefetch(fresh)
    buyer_ids = matcher.buyer_ids()
    held = read_ahead(session, buyer_ids)  # kept loaded for the chunk
    payables = Payables(session, buyer_ids)
    bookings = ChunkBookings(ledger)
    matcher.before_read = session.flush  # a proposal reads open amounts
    done: list[tuple[str, BankTransactionRecord | None]] = []
    with session.no_autoflush:
        for transaction in chunk:
            if transaction.reversal and not transaction.credit and (
                    transaction.end_to_end_id or transaction.debtor_iban):
                break  # a bank return: booked one by one from here
            key = _digest(transaction.key)
            if key in stored:
                done.append(("duplicate", None))
            else:
                stored.add(key)
                done.append(_book_ahead(ledger, matcher, transaction, file_name, payables,
                                        bookings))
            if summary is not None:
                summary.count(*done[-1])
        bookings.drain()
    matcher.before_read = None
    for transaction in chunk[len(done):]:
        done.append(book_transaction(ledger, matcher, transaction, file_name, stored,
                                     payables))
        if summary is not None:
            summary.count(*done[-1])
    held.clear()
    return done


def _book_ahead(ledger: Ledger, matcher: Matcher, transaction: BankTransaction,
                file_name: str, payables: Payables, bookings: ChunkBookings,
                ) -> tuple[str, BankTransactionRecord]:
    """:func:`book_transaction` of a transaction not stored before that is no bank return
    to undo, its writes left to ``bookings``."""
    record = _record(transaction, file_name)
    if not transaction.credit:
        record.status = "unmatched" if transaction.reversal else "ignored"
        bookings.begin(record)
        return record.status, record
    match: Match = Match("none") if transaction.reversal else matcher.match(transaction)
    bookings.begin(record, match.buyer_id)
    if match.certain and match.buyer_id is not None:
        if not payables.holds(match.buyer_id):
            ledger.session.flush()  # read as the chunk left them
        _apply(ledger, record, match.buyer_id, match.order_ids, match.method, payables,
               bookings)
    elif match.method == "proposal":
        record.status, record.proposed_order_id = "proposed", match.order_id
        record.buyer_id = match.buyer_id
    return record.status, record


def assign(ledger: Ledger, transaction_id: int, order: Order | None = None) -> int:
    """Book an unmatched or proposed transfer for ``order`` (default: the proposal, so the
    merchant confirms it). Returns the amount paid; the rest is the buyer's credit."""
    record = ledger.session.scalars(select(BankTransactionRecord).where(
        BankTransactionRecord.id == transaction_id).with_for_update()).one_or_none()
    if record is None:
        raise NotFound(f"no bank transaction {transaction_id}")
    if record.status not in ("proposed", "unmatched") or not record.credit or record.reversal:
        raise ConfigurationError(f"bank transaction {transaction_id} is {record.status}; "
                                 "only unmatched or proposed incoming transfers can be assigned")
    if order is None:
        if record.proposed_order_id is None:
            raise ConfigurationError(f"bank transaction {transaction_id} has no proposal; "
                                     "name the shop and order it pays")
        order = ledger.session.get(Order, record.proposed_order_id)
    if order.buyer_id is None:
        raise ConfigurationError(f"order {order.shop_order_id} has no invoice yet")
    return _apply(ledger, record, order.buyer_id, (order.id,), "manual")


def refund_credit(ledger: Ledger, buyer_id: int, amount: int | None = None, *,
                  key: str) -> tuple[int, str | None]:
    """Pay back the buyer's credit (all of it, or ``amount``) once per ``key``; returns the
    amount and the account it goes to (the last over-payment's payer account)."""
    buyer = ledger.session.scalars(select(Buyer).where(Buyer.id == buyer_id)
                                   .with_for_update()
                                   .execution_options(populate_existing=True)).one_or_none()
    if buyer is None:
        raise NotFound(f"no buyer {buyer_id}")
    amount = buyer.credit if amount is None else amount
    if not 0 < amount <= buyer.credit:
        raise ConfigurationError(f"buyer {buyer_id} has a credit of {buyer.credit} minor "
                                 "units; a refund must be positive and at most that")
    source = ledger.session.scalars(select(BankTransactionRecord).where(
        BankTransactionRecord.buyer_id == buyer_id, BankTransactionRecord.to_credit > 0,
        BankTransactionRecord.status == "booked")
        .order_by(BankTransactionRecord.id.desc()).limit(1)).first()
    currency = source.currency if source is not None else buyer_currency(ledger, buyer_id)
    change_buyer_credit(ledger, buyer, -amount, order_id=_latest_order(ledger, buyer_id),
                        currency=currency, key=key, kind="credit_refund",
                        description=f"credit paid back on {datetime.now(UTC).date()}")
    return amount, source.debtor_iban if source is not None else None


def buyer_currency(ledger: Ledger, buyer_id: int) -> str:
    """The currency of a buyer's orders, which its credit is in."""
    return ledger.session.scalar(select(func.min(Order.currency)).where(
        Order.buyer_id == buyer_id)) or "EUR"
