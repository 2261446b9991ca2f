"""What a bank statement file says about one transfer, whatever its format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["BankTransaction", "bank_reference"]

# what banks write where they have no reference
PLACEHOLDERS = frozenset({"", "NONREF", "NOTPROVIDED", "NONE", "N/A"})


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """One credit or debit on an account of the provider, as a statement file reports it.

    ``key`` identifies the transaction across imports: the bank's own reference where the
    file carries one, else one derived from the file's statement id and the entry's place in
    it, so importing the same file twice yields the same keys. ``amount`` is positive, in
    minor units of ``currency``; ``credit`` says money came in. ``reversal`` marks the
    return of an earlier transaction (camt ``RvslInd``, MT940 ``RC``/``RD``).
    ``credited_iban`` is the account the money went to where the bank names it (a per-buyer
    virtual IBAN), else ``None``. ``remittance`` holds the unstructured remittance lines as
    the bank gave them; ``creditor_reference`` the structured one (an ISO 11649 ``RF``
    reference, or whatever the payer put there).
    """

    key: str
    account_iban: str
    amount: int
    currency: str
    credit: bool
    reversal: bool
    booked_on: date
    value_on: date | None = None
    credited_iban: str | None = None
    debtor_name: str | None = None
    debtor_iban: str | None = None
    remittance: tuple[str, ...] = ()
    creditor_reference: str | None = None
    end_to_end_id: str | None = None
    bank_reference: str | None = None


def bank_reference(value: object) -> str | None:
    """A reference as given, or ``None`` for a missing one or a placeholder (``NONREF``)."""
    text = str(value or "").strip()
    return None if text.upper() in PLACEHOLDERS else text
