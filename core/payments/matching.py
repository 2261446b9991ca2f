"""Which buyer and order a transfer pays: decided here, booked by ``booking``.

In this order: the credited per-buyer virtual IBAN; the payment reference
``BP<order>/<merchant>`` in the remittance text, read through what banks do to it (spaces,
case, other separators, lines cut in the middle); an ISO 11649 ``RF`` creditor reference of
a merchant that gives them out; else the amount and the payer's name, only proposed for the
merchant to confirm.

A transfer may name several orders (``BP4809/3333 BP4810/3333``): when each reference reads
as exactly one order and all are the same buyer's, it pays them, the one due first first.
A reference that could be two orders, names an order of that merchant that does not exist,
or orders of different buyers make it a proposal only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Integer, Row, String, bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from stdnum import iso11649

from core.ledger.db import among, slices
from core.ledger.models import Buyer, Invoice, Merchant, Order, Receivable, ShopConnection
from core.payments.transactions import BankTransaction

__all__ = ["Match", "Matcher", "creditor_references", "reference_candidates",
           "reference_groups"]

SEPARATORS = "/.-_:\\|"
_TOKEN = re.compile(rf"[0-9A-Za-z{re.escape(SEPARATORS)}]+")
_BP = re.compile(r"B\s*P", re.IGNORECASE)
_RF_START = re.compile(r"RF\d\d", re.IGNORECASE)
_NAME_NOISE = re.compile(
    r"\b(gmbh|ag|kg|ug|ohg|gbr|e\.?\s?k|mbh|co|ltd|sarl|sas|sa|bv|nv|ab|as|oy|aps|sl|"
    r"haftungsbeschränkt|und|and|the)\b")
MAX_CANDIDATES = 64
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Match:
    """What a transfer was matched to: ``method`` is ``virtual_iban``, ``reference``,
    ``rf``, ``proposal`` (to be confirmed) or ``none``; ``order_ids`` the orders its
    references name, in the order named."""

    method: str
    buyer_id: int | None = None
    order_ids: tuple[int, ...] = ()

    @property
    def order_id(self) -> int | None:
        """The order named first."""
        return self.order_ids[0] if self.order_ids else None

    @property
    def certain(self) -> bool:
        return self.method in ("virtual_iban", "reference", "rf")


MAX_MERCHANT_ID = 2**31 - 1


def _splits(token: str) -> list[tuple[str, str]]:
    """(order number, merchant id) readings of what follows ``BP``."""
    found = []
    for i, char in enumerate(token):
        if char in SEPARATORS and i > 0:
            order = token[:i].rstrip(SEPARATORS)
            digits = re.match(r"\d+", token[i:].lstrip(SEPARATORS))
            # a longer number (a customer or invoice number after the reference) is no
            # merchant's id: the ledger's ids are 32-bit integers
            if order and digits and int(digits.group()) <= MAX_MERCHANT_ID:
                found.append((order, digits.group()))
    if not found and token.isalnum():  # the separator was dropped: BP12345673333
        found = [(token[:k], token[k:]) for k in range(1, len(token))
                 if token[k:].isdigit() and token[k] != "0" and len(token) - k <= 9]
    return found


def reference_groups(lines: Sequence[str]) -> list[list[tuple[str, int]]]:
    """Per ``BP`` in a remittance text, every (order number, merchant id) it may name as
    ``BP<order>/<id>``, the likeliest first; the ledger tells which exists. The lines are
    read both glued and apart (a bank may cut a reference anywhere): ``B\\s*P`` is found
    the same number of times in both, so the n-th of each is the same reference."""
    groups: list[dict[tuple[str, int], None]] = []
    for text in ("".join(lines), " ".join(lines)):
        for n, hit in enumerate(_BP.finditer(text)):
            if n == len(groups):
                groups.append({})
            tail = text[hit.end():hit.end() + 80]
            for squeezed in (re.sub(r"\s+", "", tail), re.sub(r"\s+", "/", tail.strip())):
                token = _TOKEN.match(squeezed)
                if token is None:
                    continue
                for order, merchant in _splits(token.group()):
                    for number in (order, order.upper(), order.lower()):
                        groups[n].setdefault((number, int(merchant)), None)
    return [list(group)[:MAX_CANDIDATES] for group in groups if group][:MAX_CANDIDATES]


@lru_cache(maxsize=2048)
def _groups_of(lines: tuple[str, ...]) -> tuple[tuple[tuple[str, int], ...], ...]:
    """:func:`reference_groups` of a transfer's remittance, kept for the few times a chunk
    reads it (:meth:`Matcher.prefetch`, then :meth:`Matcher.match`)."""
    return tuple(tuple(group) for group in reference_groups(lines))


def reference_candidates(lines: Sequence[str]) -> list[tuple[str, int]]:
    """Every (order number, merchant id) a remittance text may name as ``BP<order>/<id>``,
    the likeliest first."""
    found: dict[tuple[str, int], None] = {}
    for group in reference_groups(lines):
        found.update(dict.fromkeys(group))
    return list(found)[:MAX_CANDIDATES]


def creditor_references(transaction: BankTransaction) -> list[str]:
    """The valid ISO 11649 ``RF`` references of a transfer: the structured one, then any in
    the remittance text."""
    texts = [transaction.creditor_reference or "", " ".join(transaction.remittance)]
    found = []
    for text in texts:
        squeezed = re.sub(r"\s+", "", text).upper()
        for start in _RF_START.finditer(squeezed):
            # the reference may run into the next word: the longest valid reading wins
            tail = re.match(r"[0-9A-Z]*", squeezed[start.end():]).group()[:21]
            for end in range(len(tail), 0, -1):
                reference = start.group() + tail[:end]
                if iso11649.is_valid(reference):
                    if reference not in found:
                        found.append(reference)
                    break
    return found


def _plain_iban(iban: str) -> str:
    return iban.replace(" ", "").upper()


def _name_words(name: str) -> set[str]:
    plain = _NAME_NOISE.sub(" ", name.casefold())
    return {word for word in re.findall(r"\w+", plain) if len(word) > 1}


class Matcher:
    """Matches transfers against the ledger of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # read ahead for a batch (:meth:`prefetch`): virtual IBAN -> buyer id (``None``:
        # no buyer has it), and the orders the batch's references may name
        self._buyers: dict[str, int | None] = {}
        self._asked: set[tuple[str, int]] = set()
        self._orders: dict[tuple[str, int], Row[Any]] = {}
        # called before a read of what a chunk's bookings change (open amounts), so that
        # bookings kept in memory are written first
        self.before_read: Callable[[], None] | None = None

    def prefetch(self, transactions: Iterable[BankTransaction]) -> None:
        """Read what matching ``transactions`` needs in a few queries instead of one or
        two per transfer: the buyers of their credited virtual IBANs, the orders their
        ``BP`` references may name. Matching gives the same answers with or without."""
        ibans, candidates = set(), set()
        for transaction in transactions:
            if transaction.credited_iban:
                ibans.add(_plain_iban(transaction.credited_iban))
            for group in _groups_of(tuple(transaction.remittance)):
                candidates.update(group)
        ibans -= self._buyers.keys()
        candidates -= self._asked
        for part in slices(sorted(ibans)):
            self._buyers.update(dict.fromkeys(part))
            self._buyers.update((iban, buyer_id) for iban, buyer_id in self.session.execute(
                select(Buyer.virtual_iban, Buyer.id)
                .where(among(self.session, Buyer.virtual_iban, part))))
        for part in slices(sorted(candidates), 400):
            self._asked.update(part)
            for row in self._order_rows(part):
                self._orders[(row.order_number, row.merchant_id)] = row

    def buyer_ids(self) -> set[int]:
        """The buyers found by :meth:`prefetch`."""
        found = {b for b in self._buyers.values() if b is not None}
        return found | {row.buyer_id for row in self._orders.values()}

    def _order_rows(self, candidates: Sequence[tuple[str, int]]) -> Sequence[Row[Any]]:
        query = select(Order.id, Order.buyer_id, Order.order_number,
                       ShopConnection.merchant_id) \
            .join(ShopConnection, ShopConnection.id == Order.connection_id) \
            .where(Order.buyer_id.is_not(None))
        if self.session.get_bind().dialect.name != "postgresql":
            return self.session.execute(query.where(tuple_(
                Order.order_number, ShopConnection.merchant_id).in_(candidates))).all()
        # the pairs as two array parameters zipped by unnest (see core.ledger.db.among)
        wanted = sorted(set(candidates))
        pairs = func.unnest(
            bindparam(None, [number for number, _ in wanted], type_=ARRAY(String())),
            bindparam(None, [merchant for _, merchant in wanted], type_=ARRAY(Integer())),
        ).table_valued("number", "merchant").render_derived()
        return self.session.execute(query.where(tuple_(
            Order.order_number, ShopConnection.merchant_id).in_(
                select(pairs.c.number, pairs.c.merchant)))).all()

    def _buyer_of_iban(self, iban: str) -> int | None:
        plain = _plain_iban(iban)
        if plain in self._buyers:
            return self._buyers[plain]
        return self.session.scalar(select(Buyer.id).where(Buyer.virtual_iban == plain))

    def match(self, transaction: BankTransaction) -> Match:
        """What the transfer pays, by the first rule that finds it."""
        by_reference = self._by_reference(transaction) or self._by_rf(transaction)
        if transaction.credited_iban:
            buyer_id = self._buyer_of_iban(transaction.credited_iban)
            if buyer_id is not None:
                named = by_reference.order_ids if by_reference is not None \
                    and by_reference.certain and by_reference.buyer_id == buyer_id else ()
                return Match("virtual_iban", buyer_id, named)
        if by_reference is not None:
            return by_reference
        return self._proposal(transaction)

    def _by_reference(self, transaction: BankTransaction) -> Match | None:
        groups = _groups_of(tuple(transaction.remittance))
        candidates = [reading for group in groups for reading in group]
        if not candidates:
            return None
        if self._asked.issuperset(candidates):
            rows: Sequence[Row[Any]] = [self._orders[c] for c in dict.fromkeys(candidates)
                                        if c in self._orders]
        else:
            rows = self._order_rows(candidates)
        if not rows:
            return None
        found = {(row.order_number, row.merchant_id): row for row in rows}
        merchants = {row.merchant_id for row in rows}
        named: dict[int, int] = {}  # order id -> buyer id, in the order named
        certain = True
        for group in groups:
            orders = {found[r].id: found[r].buyer_id for r in group if r in found}
            if len(orders) > 1:
                # two orders fit different readings (BP10015: 1001 of merchant 5, or 100 of
                # 15): only a guess, for the merchant to confirm
                certain = False
            elif not orders and any(merchant in merchants for _, merchant in group):
                certain = False  # names an order of that merchant that does not exist
            for order_id, buyer_id in orders.items():
                named.setdefault(order_id, buyer_id)
        if not named:
            return None
        buyers = set(named.values())
        first_buyer = next(iter(named.values()))
        if certain and len(buyers) == 1:
            return Match("reference", first_buyer, tuple(named))
        return Match("proposal", first_buyer, tuple(o for o, b in named.items()
                                                    if b == first_buyer))

    def _by_rf(self, transaction: BankTransaction) -> Match | None:
        for reference in creditor_references(transaction):
            row = self.session.execute(
                select(Order.id, Order.buyer_id)
                .join(Invoice, Invoice.order_id == Order.id)
                .join(Merchant, Merchant.id == Invoice.merchant_id)
                .where(Invoice.creditor_reference == reference, Merchant.rf_references,
                       Order.buyer_id.is_not(None)).limit(1)).first()
            if row is not None:
                return Match("rf", row.buyer_id, (row.id,))
        return None

    def _proposal(self, transaction: BankTransaction) -> Match:
        """An open invoice of exactly the amount whose buyer's name shares a word with the
        payer's, the one due first; a guess for the merchant to confirm."""
        words = _name_words(transaction.debtor_name or "")
        if not words:
            return Match("none")
        if self.before_read is not None:
            self.before_read()
        rows = self.session.execute(
            select(Order.id, Order.buyer_id, Buyer.company)
            .join(Receivable, Receivable.order_id == Order.id)
            .join(Buyer, Buyer.id == Order.buyer_id)
            .where(Receivable.gross - Receivable.credited - Receivable.paid
                   == transaction.amount, Receivable.currency == transaction.currency,
                   Receivable.status.not_in(("settled", "cancelled", "cancelling")))
            .order_by(Receivable.due_on, Receivable.id).limit(50)).all()
        for row in rows:
            if words & _name_words(row.company):
                return Match("proposal", row.buyer_id, (row.id,))
        return Match("none")
