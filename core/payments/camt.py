"""Reader of ISO 20022 camt.053 bank-to-customer statements, versions 001.02 to 001.08.

The file is read as a stream over ``defusedxml`` (no DTD, no entities): each ``Ntry`` is
turned into transactions as soon as it is complete, then dropped, so a file of any number of
entries is read in flat memory. Being a generator, the reader reports a bad file while it is
iterated, possibly after yielding the transactions before the fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from core.errors import UnreadableFile
from core.money import is_known_currency, to_minor
from core.payments.transactions import BankTransaction, bank_reference

__all__ = ["NAMESPACE", "SUPPORTED_VERSIONS", "read_camt053"]

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
SUPPORTED_VERSIONS = ("02", "03", "04", "05", "06", "07", "08")
SUPPORTED = "camt.053.001.02 to camt.053.001.08"
_NAMESPACES = {NAMESPACE.format(version=v): v for v in SUPPORTED_VERSIONS}
_STMT_PATH = ("Document", "BkToCstmrStmt", "Stmt", "Ntry")
_AMOUNT = re.compile(r"\d+(\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?")
_TRUE = ("true", "1")
_BOOKED = (None, "BOOK")
_NOT_PROVIDED = "NOTPROVIDED"


def read_camt053(source: Path | BinaryIO) -> Iterator[BankTransaction]:
    """The transactions of a camt.053 file (a path or a binary stream), in file order.

    Each ``TxDtls`` of a booked entry is one transaction; an entry without any is one. A
    batch entry whose ``TxDtls`` carry no amounts is one transaction of the entry's amount
    with the remittance lines of all of them. Entries whose status is not ``BOOK``
    (``PDNG``, ``INFO``, ``FUTR``) are skipped: no money has moved yet.

    ``debtor_name``/``debtor_iban`` name the counterparty: the payer of a credit, the payee
    of a debit (taken from ``Cdtr``/``CdtrAcct``). A reversal keeps the parties of the
    transfer it reverses, so the reversal of a credit names that credit's payer (``Dbtr``),
    unless the bank swapped the roles (the debtor's account is the statement's own), in
    which case the other side is taken. ``credited_iban`` is the ``CdtrAcct`` IBAN where
    that side is the account holder's (a credit, or the reversal of one).

    Raises :class:`UnreadableFile` (while iterating) for unsafe, incomplete or malformed
    XML, another document type or version, or an entry that lacks a required element or
    holds an invalid amount, currency or date.
    """
    with _opened(source) as stream:
        yield from _transactions(_events(stream))


def _opened(source: Path | BinaryIO) -> AbstractContextManager[BinaryIO]:
    if isinstance(source, str | Path):
        return Path(source).open("rb")
    return nullcontext(source)


def _events(stream: BinaryIO) -> Iterator[tuple[str, Element]]:
    """``iterparse`` events, with the parser's failures turned into ``UnreadableFile``."""
    events = iterparse(stream, events=("start", "end"), forbid_dtd=True,
                       forbid_entities=True, forbid_external=True)
    try:
        yield from events
    except DefusedXmlException as exc:
        raise UnreadableFile(
            "the file declares XML entities (a DTD) and is refused as unsafe") from exc
    except ParseError as exc:
        raise UnreadableFile(f"the file is not complete XML: {exc}") from exc
    except (LookupError, UnicodeError) as exc:  # an encoding Python does not know
        raise UnreadableFile(f"the file's XML encoding cannot be read: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _Statement:
    id: str
    iban: str
    currency: str | None


@dataclass(frozen=True, slots=True)
class _Party:
    name: str | None
    iban: str | None


@dataclass(frozen=True, slots=True)
class _Details:
    """What one ``TxDtls`` says."""

    amount: tuple[int, str] | None
    reference: str | None
    end_to_end_id: str | None
    debtor: _Party
    creditor: _Party
    remittance: tuple[str, ...]
    creditor_references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Entry:
    """What one ``Ntry`` says, and where it stands in the file."""

    statement: _Statement
    index: int
    number: int
    amount: tuple[int, str]
    credit: bool
    reversal: bool
    booked_on: date
    value_on: date | None
    reference: str | None


class _Reader:
    """Finds elements by paths of local names in the document's namespace."""

    def __init__(self, namespace: str) -> None:
        self.prefix = "{" + namespace + "}"
        self.paths: dict[str, str] = {}
        self.report, self.stmt, self.ntry = (self.qualified(n) for n in _STMT_PATH[1:])

    def qualified(self, path: str) -> str:
        found = self.paths.get(path)
        if found is None:
            found = self.paths[path] = "/".join(self.prefix + p for p in path.split("/"))
        return found

    def text(self, elem: Element, path: str) -> str | None:
        found = elem.find(self.qualified(path))
        if found is None or found.text is None or not found.text.strip():
            return None
        return found.text.strip()

    def texts(self, elem: Element, path: str) -> list[str]:
        return [found.text for found in elem.iterfind(self.qualified(path))
                if found.text and found.text.strip()]

    def find(self, elem: Element, path: str) -> Element | None:
        return elem.find(self.qualified(path))

    def findall(self, elem: Element, path: str) -> list[Element]:
        return elem.findall(self.qualified(path))

    def in_statement(self, elems: list[Element]) -> bool:
        """Whether the open elements are ``Document/BkToCstmrStmt/Stmt``."""
        return elems[1].tag == self.report and elems[2].tag == self.stmt


def _namespace(root: Element) -> str:
    """The root's camt.053 namespace; any other document or version is refused."""
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else (
        "", "", root.tag)
    if local != "Document" or namespace not in _NAMESPACES:
        raise UnreadableFile(
            f"not a supported camt.053 document; supported versions: {SUPPORTED}")
    return namespace


def _transactions(events: Iterator[tuple[str, Element]]) -> Iterator[BankTransaction]:
    """Walk the events, handling each ``Stmt/Ntry`` once it is complete, then dropping it."""
    reader: _Reader | None = None
    elems: list[Element] = []  # the open elements, from the root
    statement: _Statement | None = None
    statements = entries = in_statement = 0
    for event, elem in events:
        if event == "start":
            reader = reader or _Reader(_namespace(elem))
            elems.append(elem)
            if len(elems) == 3 and reader.in_statement(elems):
                statements, statement, in_statement = statements + 1, None, 0
            continue
        assert reader is not None
        if len(elems) == 4 and elem.tag == reader.ntry and reader.in_statement(elems):
            entries, in_statement = entries + 1, in_statement + 1
            statement = statement or _statement(reader, elems[2], statements)
            yield from _entry_transactions(reader, elem, statement, in_statement, entries)
            elem.clear()
            elems[2].remove(elem)
        elif len(elems) == 3 and reader.in_statement(elems):
            statement = statement or _statement(reader, elem, statements)
            elem.clear()
            elems[1].remove(elem)
        elems.pop()
    if statements == 0:
        raise UnreadableFile("the camt.053 file holds no statement (BkToCstmrStmt/Stmt)")


def _statement(reader: _Reader, elem: Element, number: int) -> _Statement:
    statement_id = reader.text(elem, "Id")
    if statement_id is None:
        raise UnreadableFile(f"camt.053 statement {number}: Stmt/Id is missing")
    iban = reader.text(elem, "Acct/Id/IBAN")
    if iban is None:
        raise UnreadableFile(f"camt.053 statement {number}: Stmt/Acct/Id/IBAN is missing")
    return _Statement(statement_id, _compact(iban), reader.text(elem, "Acct/Ccy"))


def _compact(iban: str) -> str:
    return "".join(iban.split()).upper()


def _fault(number: int, element: str, problem: str) -> UnreadableFile:
    return UnreadableFile(f"camt.053 entry {number}: {element} {problem}")


def _amount(elem: Element | None, element: str, number: int,
            default_currency: str | None) -> tuple[int, str]:
    """An ``Amt`` element as (minor units, currency); ``default_currency`` (the account's)
    stands in for a missing ``Ccy``."""
    if elem is None or elem.text is None or not elem.text.strip():
        raise _fault(number, element, "is missing")
    text = elem.text.strip()
    if not _AMOUNT.fullmatch(text):
        raise _fault(number, element, "is not a positive decimal amount")
    currency = (elem.get("Ccy") or default_currency or "").strip()
    if not is_known_currency(currency):
        raise _fault(number, f"{element}/@Ccy", "is not a known ISO 4217 currency")
    try:
        return to_minor(Decimal(text), currency), currency
    except ValueError as exc:
        raise _fault(number, element, f"has more decimals than {currency} allows") from exc


def _date(reader: _Reader, entry: Element, name: str, number: int) -> date | None:
    """``BookgDt``/``ValDt``: its ``Dt``, else the date of its ``DtTm``; None if absent."""
    holder = reader.find(entry, name)
    if holder is None:
        return None
    day, moment = reader.text(holder, "Dt"), reader.text(holder, "DtTm")
    try:
        if day is not None:
            if not _DATE.fullmatch(day):
                raise ValueError(day)
            return date.fromisoformat(day[:10])
        if moment is not None:
            return datetime.fromisoformat(moment).date()
    except ValueError as exc:
        raise _fault(number, f"Ntry/{name}", "is not a valid date") from exc
    raise _fault(number, f"Ntry/{name}/Dt", "is missing")


def _entry(reader: _Reader, elem: Element, statement: _Statement, index: int,
           number: int) -> _Entry:
    indicator = reader.text(elem, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise _fault(number, "Ntry/CdtDbtInd", "is missing or not CRDT/DBIT")
    booked_on = _date(reader, elem, "BookgDt", number)
    if booked_on is None:
        raise _fault(number, "Ntry/BookgDt", "is missing")
    return _Entry(
        statement=statement, index=index, number=number,
        amount=_amount(reader.find(elem, "Amt"), "Ntry/Amt", number, statement.currency),
        credit=indicator == "CRDT",
        reversal=(reader.text(elem, "RvslInd") or "").lower() in _TRUE,
        booked_on=booked_on, value_on=_date(reader, elem, "ValDt", number),
        reference=bank_reference(reader.text(elem, "AcctSvcrRef")))


def _party(reader: _Reader, tx: Element, role: str) -> _Party:
    """``Dbtr``/``Cdtr`` name (v02 to v07 ``Nm``, v08 ``Pty/Nm``) and account IBAN."""
    name = (reader.text(tx, f"RltdPties/{role}/Nm")
            or reader.text(tx, f"RltdPties/{role}/Pty/Nm"))
    iban = reader.text(tx, f"RltdPties/{role}Acct/Id/IBAN")
    return _Party(name, _compact(iban) if iban else None)


def _details(reader: _Reader, tx: Element, entry: _Entry) -> _Details:
    label = "Amt" if reader.find(tx, "Amt") is not None else "AmtDtls/TxAmt/Amt"
    amount = reader.find(tx, label)
    end_to_end_id = reader.text(tx, "Refs/EndToEndId")
    return _Details(
        amount=None if amount is None else _amount(
            amount, f"Ntry/NtryDtls/TxDtls/{label}", entry.number, entry.statement.currency),
        reference=bank_reference(reader.text(tx, "Refs/AcctSvcrRef")),
        end_to_end_id=None if end_to_end_id == _NOT_PROVIDED else end_to_end_id,
        debtor=_party(reader, tx, "Dbtr"), creditor=_party(reader, tx, "Cdtr"),
        remittance=tuple(reader.texts(tx, "RmtInf/Ustrd")
                         + reader.texts(tx, "RmtInf/Strd/AddtlRmtInf")),
        creditor_references=tuple(
            ref for found in reader.findall(tx, "RmtInf/Strd/CdtrRefInf/Ref")
            if (ref := (found.text or "").strip())))


def _merged(details: Sequence[_Details]) -> _Details:
    """Several ``TxDtls`` without amounts as one: all remittance lines, and what they all
    agree on."""

    def common(values: list[str | None]) -> str | None:
        return values[0] if len(set(values)) == 1 else None

    return _Details(
        amount=None, reference=None,
        end_to_end_id=common([d.end_to_end_id for d in details]),
        debtor=_Party(common([d.debtor.name for d in details]),
                      common([d.debtor.iban for d in details])),
        creditor=_Party(common([d.creditor.name for d in details]),
                        common([d.creditor.iban for d in details])),
        remittance=tuple(line for d in details for line in d.remittance),
        creditor_references=tuple(ref for d in details for ref in d.creditor_references))


def _entry_transactions(reader: _Reader, elem: Element, statement: _Statement, index: int,
                        number: int) -> Iterator[BankTransaction]:
    if (reader.text(elem, "Sts") or reader.text(elem, "Sts/Cd")) not in _BOOKED:
        return
    entry = _entry(reader, elem, statement, index, number)
    details = [_details(reader, tx, entry)
               for tx in reader.findall(elem, "NtryDtls/TxDtls")]
    with_amount = [d.amount is not None for d in details]
    if len(details) > 1 and not any(with_amount):
        details = [_merged(details)]
    elif len(details) > 1 and not all(with_amount):
        raise _fault(number, "Ntry/NtryDtls/TxDtls/Amt",
                     "is missing in some of the entry's several TxDtls")
    if not details:
        details = [_Details(None, None, None, _Party(None, None), _Party(None, None), (), ())]
    references = [d.reference for d in details]
    own_references = None not in references and len(set(references)) == len(references)
    for tx_index, detail in enumerate(details, 1):
        key = _key(entry, detail, tx_index, len(details), own_references)
        yield _transaction(entry, detail, key)


def _key(entry: _Entry, detail: _Details, tx_index: int, count: int,
         own_reference: bool) -> str:
    """The bank's transaction reference if each transaction has its own, else the entry's
    (with the transaction's place if it has several), else statement id and places."""
    mark = ("C" if entry.credit else "D") + ("R" if entry.reversal else "")
    prefix = f"camt:{entry.statement.iban}:{mark}"
    if own_reference and detail.reference:
        return f"{prefix}:tx:{detail.reference}"
    if entry.reference:
        return f"{prefix}:ntry:{entry.reference}" + (f":{tx_index}" if count > 1 else "")
    return f"{prefix}:stmt:{entry.statement.id}:{entry.index}:{tx_index}"


def _transaction(entry: _Entry, detail: _Details, key: str) -> BankTransaction:
    """One transaction; counterparty and credited account as :func:`read_camt053` says."""
    amount, currency = detail.amount or entry.amount
    ours_credited = entry.credit != entry.reversal  # a credit, or the reversal of one
    if (detail.debtor if ours_credited else detail.creditor).iban == entry.statement.iban:
        ours_credited = not ours_credited  # the bank gave the reversal booking's own roles
    other = detail.debtor if ours_credited else detail.creditor
    return BankTransaction(
        key=key, account_iban=entry.statement.iban, amount=amount, currency=currency,
        credit=entry.credit, reversal=entry.reversal, booked_on=entry.booked_on,
        value_on=entry.value_on,
        credited_iban=detail.creditor.iban if ours_credited else None,
        debtor_name=other.name, debtor_iban=other.iban, remittance=detail.remittance,
        creditor_reference=detail.creditor_references[0]
        if detail.creditor_references else None,
        end_to_end_id=detail.end_to_end_id,
        bank_reference=detail.reference or entry.reference)
