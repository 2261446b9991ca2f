"""Reader of SWIFT MT940 account statements, through the ``mt-940`` library.

German banks' structured ``:86:`` details (``?00`` posting text, ``?20`` to ``?29`` purpose
with the SEPA ``EREF+``/``SVWZ+`` keywords, ``?31`` account, ``?32``/``?33`` name) are split
by the library's ``transaction_details_post_processor``; an unstructured ``:86:`` is kept
line by line as remittance text.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import mt940
from mt940.models import Transaction, Transactions
from mt940.tags import Tag
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from core.errors import UnreadableFile
from core.money import is_known_currency, to_minor
from core.payments.transactions import BankTransaction, bank_reference

__all__ = ["OPTIONS", "read_mt940"]

# the library logs the raw text of a tag it cannot parse (buyers' names and accounts); the
# reader reports such a file itself, without its content
logging.getLogger("mt940").setLevel(logging.CRITICAL)

#: The library's opt-in fixes: ``?31`` under its own key (``applicant_iban``), a structured
#: ``:86:`` not blanking the ``:61:`` references, ``RC`` signed like a debit, marks of any
#: case, ``:86:`` of any length, a leading byte-order mark dropped, a ``+`` in the first
#: characters of the purpose not taken for a SEPA keyword, ``:NS:`` free text kept.
OPTIONS = mt940.Options(
    applicant_iban=True, merge_keeps_values=True, reversal_sign=True,
    case_insensitive_marks=True, unbounded_details=True, strip_bom=True,
    gvc_leading_text=True, non_swift_free_text=True)
_MARKS = {"C": (True, False), "D": (False, False), "RC": (False, True), "RD": (True, True)}
_OPENING = ("final_opening_balance", "opening_balance", "intermediate_opening_balance")


def read_mt940(source: Path | BinaryIO) -> Iterator[BankTransaction]:
    """The transactions of an MT940 file (a path or a binary stream), in file order.

    The status of ``:61:`` gives direction and reversal: ``C`` a credit, ``D`` a debit,
    ``RC`` the reversal of a credit (money out), ``RD`` the reversal of a debit (money
    in). ``debtor_name``/``debtor_iban`` are the counterparty of ``:86:`` (``?32``/``?33``,
    ``?31`` when it is an IBAN): the payer of a credit, the payee of a debit. The account is
    ``:25:``, compacted when it is an IBAN, else as written (``BLZ/account``).

    The file is decoded as UTF-8, else latin-1. Raises :class:`UnreadableFile` (while
    iterating) when the library cannot parse it, it holds no statement, a statement lacks
    ``:25:`` or a currency, or an amount does not fit its currency.
    """
    statements = _parse(_decode(_load(source)))
    seen: Counter[tuple[object, ...]] = Counter()
    for number, statement in enumerate(statements, 1):
        yield from _statement_transactions(statement, number, seen)


def _load(source: Path | BinaryIO) -> bytes:
    if isinstance(source, str | Path):
        return Path(source).read_bytes()
    return source.read()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _parse(text: str) -> list[Transactions]:
    try:
        statements = mt940.parse_statements(io.StringIO(text), options=OPTIONS)
    except Exception as exc:  # the library raises whatever its parsing hits
        raise UnreadableFile(f"the MT940 file cannot be read: {_reason(exc)}") from exc
    if not statements:
        raise UnreadableFile("the file holds no MT940 statement (no :20: tag)")
    return statements


def _reason(exc: Exception) -> str:
    """Which tag failed, without repeating the file's content."""
    tag = next((arg for arg in exc.args if isinstance(arg, Tag)), None)
    if tag is not None:
        return f"tag :{tag.id}: does not match its format"
    return type(exc).__name__


def _account(statement: Transactions, number: int) -> str:
    raw = str(statement.data.get("account_identification") or "").strip()
    if not raw:
        raise UnreadableFile(f"MT940 statement {number}: tag :25: (account) is missing")
    return _valid_iban(raw) or raw


def _valid_iban(text: Any) -> str | None:
    """``text`` as a compact IBAN if it is a valid one (an account number is not)."""
    try:
        return IBAN(str(text or "")).compact
    except SchwiftyException:
        return None


def _statement_transactions(statement: Transactions, number: int,
                            seen: Counter[tuple[object, ...]]) -> Iterator[BankTransaction]:
    account = _account(statement, number)
    opening = next((statement.data[k] for k in _OPENING if statement.data.get(k)), None)
    place = ":".join((
        str(statement.data.get("transaction_reference") or "").strip(),
        f"{statement.data.get('statement_number') or ''}/"
        f"{statement.data.get('sequence_number') or ''}",
        opening.date.isoformat() if opening is not None and opening.date else "-"))
    for index, transaction in enumerate(statement, 1):
        yield _transaction(transaction, account, f"{number}.{index}",
                           f"mt940:{account}:stmt:{place}:{index}", seen)


def _transaction(transaction: Transaction, account: str, where: str, positional_key: str,
                 seen: Counter[tuple[object, ...]]) -> BankTransaction:
    data = transaction.data
    mark = str(data.get("status") or "").upper()
    if mark not in _MARKS:
        raise UnreadableFile(f"MT940 transaction {where}: :61: mark is not C, D, RC or RD")
    credit, reversal = _MARKS[mark]
    amount, currency = _amount(data, where)
    value_on: date = data["date"]
    booked_on: date = data.get("entry_date") or value_on
    reference = bank_reference(data.get("bank_reference"))
    # the key comes from the transaction's own fields (never from what else is in the
    # file), so a transaction in two overlapping exports has the same key in both
    if reference is not None:
        fields = (reference, booked_on.isoformat(), mark, amount)
        seen[fields] += 1
        key = f"mt940:{account}:ref:{':'.join(map(str, fields))}:{seen[fields]}"
    else:
        key = positional_key
    return BankTransaction(
        key=key, account_iban=account, amount=amount, currency=currency, credit=credit,
        reversal=reversal, booked_on=date(booked_on.year, booked_on.month, booked_on.day),
        value_on=date(value_on.year, value_on.month, value_on.day),
        debtor_name=_clean(data.get("applicant_name")), debtor_iban=_iban(data),
        remittance=_remittance(data), end_to_end_id=bank_reference(
            data.get("end_to_end_reference")),
        bank_reference=reference)


def _amount(data: dict[str, Any], where: str) -> tuple[int, str]:
    amount = data.get("amount")
    currency = getattr(amount, "currency", None) or ""
    if not is_known_currency(currency):
        raise UnreadableFile(
            f"MT940 transaction {where}: no known currency (:60F: opening balance)")
    try:
        return to_minor(abs(amount.amount), currency), currency
    except ValueError as exc:
        raise UnreadableFile(
            f"MT940 transaction {where}: :61: amount has more decimals than {currency} "
            "allows") from exc


def _clean(value: Any) -> str | None:
    text = str(value or "").strip()
    return text or None


def _iban(data: dict[str, Any]) -> str | None:
    """``?31`` (or the ``IBAN+`` keyword) when it is an IBAN, not a plain account number."""
    return _valid_iban(data.get("applicant_iban")) or _valid_iban(data.get("gvc_applicant_iban"))


def _remittance(data: dict[str, Any]) -> tuple[str, ...]:
    """The purpose (``SVWZ+`` or ``?20`` to ``?29``) and ``?60`` to ``?63``; else the lines of an
    unstructured ``:86:``."""
    if "transaction_details" in data:  # the library leaves it only when it is unstructured
        return tuple(line for line in str(data["transaction_details"] or "").splitlines()
                     if line.strip())
    return tuple(text for key in ("purpose", "additional_purpose")
                 if (text := str(data.get(key) or "").strip()))
