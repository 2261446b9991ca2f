"""Which buyer and order a transfer pays: decided here, booked by ``booking``.

In this order: the credited per-buyer virtual IBAN; the payment reference
``BP<order>/<merchant>`` in the remittance text, read through what banks do to it (spaces,
case, other separators, lines cut in the middle); an ISO 11649 ``RF`` creditor reference of
a merchant that gives them out; else the amount and the payer's name, only proposed for the
merchant to confirm.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session
from stdnum import iso11649

from core.ledger.models import Buyer, Invoice, Merchant, Order, Receivable, ShopConnection
from core.payments.transactions import BankTransaction

__all__ = ["Match", "Matcher", "creditor_references", "reference_candidates"]

SEPARATORS = "/.-_:\\|"
_TOKEN = re.compile(rf"[0-9A-Za-z{re.escape(SEPARATORS)}]+")
_BP = re.compile(r"B\s*P", re.IGNORECASE)
_RF_START = re.compile(r"RF\d\d", re.IGNORECASE)
_NAME_NOISE = re.compile(
    r"\b(gmbh|ag|kg|ug|ohg|gbr|e\.?\s?k|mbh|co|ltd|sarl|sas|sa|bv|nv|ab|as|oy|aps|sl|"
    r"haftungsbeschränkt|und|and|the)\b")
MAX_CANDIDATES = 64


@dataclass(frozen=True, slots=True)
class Match:
    """What a transfer was matched to: ``method`` is ``virtual_iban``, ``reference``,
    ``rf``, ``proposal`` (to be confirmed) or ``none``."""

    method: str
    buyer_id: int | None = None
    order_id: int | None = None

    @property
    def certain(self) -> bool:
        return self.method in ("virtual_iban", "reference", "rf")


def _splits(token: str) -> list[tuple[str, str]]:
    """(order number, merchant id) readings of what follows ``BP``."""
    found = []
    for i, char in enumerate(token):
        if char in SEPARATORS and i > 0:
            order = token[:i].rstrip(SEPARATORS)
            digits = re.match(r"\d+", token[i:].lstrip(SEPARATORS))
            if order and digits:
                found.append((order, digits.group()))
    if not found and token.isalnum():  # the separator was dropped: BP12345673333
        found = [(token[:k], token[k:]) for k in range(1, len(token))
                 if token[k:].isdigit() and token[k] != "0" and len(token) - k <= 9]
    return found


def reference_candidates(lines: Sequence[str]) -> list[tuple[str, int]]:
    """Every (order number, merchant id) a remittance text may name as ``BP<order>/<id>``,
    the likeliest first; the ledger tells which exists."""
    variants = ("".join(lines), " ".join(lines))
    found: dict[tuple[str, int], None] = {}
    for text in variants:
        for hit in _BP.finditer(text):
            tail = text[hit.end():hit.end() + 80]
            for squeezed in (re.sub(r"\s+", "", tail), re.sub(r"\s+", "/", tail.strip())):
                token = _TOKEN.match(squeezed)
                if token is None:
                    continue
                for order, merchant in _splits(token.group()):
                    for number in (order, order.upper(), order.lower()):
                        found.setdefault((number, int(merchant)), None)
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


def _name_words(name: str) -> set[str]:
    plain = _NAME_NOISE.sub(" ", name.casefold())
    return {word for word in re.findall(r"\w+", plain) if len(word) > 1}


class Matcher:
    """Matches transfers against the ledger of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def match(self, transaction: BankTransaction) -> Match:
        """What the transfer pays, by the first rule that finds it."""
        by_reference = self._by_reference(transaction) or self._by_rf(transaction)
        if transaction.credited_iban:
            buyer_id = self.session.scalar(select(Buyer.id).where(
                Buyer.virtual_iban == transaction.credited_iban.replace(" ", "").upper()))
            if buyer_id is not None:
                order_id = by_reference.order_id if by_reference is not None \
                    and by_reference.certain and by_reference.buyer_id == buyer_id else None
                return Match("virtual_iban", buyer_id, order_id)
        if by_reference is not None:
            return by_reference
        return self._proposal(transaction)

    def _by_reference(self, transaction: BankTransaction) -> Match | None:
        candidates = reference_candidates(transaction.remittance)
        if not candidates:
            return None
        rows = self.session.execute(
            select(Order.id, Order.buyer_id, Order.order_number, ShopConnection.merchant_id)
            .join(ShopConnection, ShopConnection.id == Order.connection_id)
            .where(tuple_(Order.order_number, ShopConnection.merchant_id).in_(candidates))
            .where(Order.buyer_id.is_not(None))).all()
        if not rows:
            return None
        rank = {candidate: n for n, candidate in enumerate(candidates)}
        rows = sorted(rows, key=lambda r: rank[(r.order_number, r.merchant_id)])
        # two orders fit different readings (BP10015: 1001 of merchant 5, or 100 of 15):
        # only a guess, for the merchant to confirm
        certain = len({row.id for row in rows}) == 1
        return Match("reference" if certain else "proposal", rows[0].buyer_id, rows[0].id)

    def _by_rf(self, transaction: BankTransaction) -> Match | None:
        for reference in creditor_references(transaction):
            row = self.session.execute(
                select(Order.id, Order.buyer_id)
                .join(Invoice, Invoice.order_id == Order.id)
                .join(Merchant, Merchant.id == Invoice.merchant_id)
                .where(Invoice.creditor_reference == reference, Merchant.rf_references,
                       Order.buyer_id.is_not(None)).limit(1)).first()
            if row is not None:
                return Match("rf", row.buyer_id, row.id)
        return None

    def _proposal(self, transaction: BankTransaction) -> Match:
        """An open invoice of exactly the amount whose buyer's name shares a word with the
        payer's, the one due first; a guess for the merchant to confirm."""
        words = _name_words(transaction.debtor_name or "")
        if not words:
            return Match("none")
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
                return Match("proposal", row.buyer_id, row.id)
        return Match("none")
