"""Billie's answers read into small values, amounts in the kit's minor units.

``GET orders/{id}`` (uuid or external code) returns the order with its ``state``,
``decline_reason``, ``amount`` and ``unshipped_amount`` (``{net, gross, tax}``), its
``invoices`` (``uuid``, ``invoice_number``, ``state``, ``amount``, ``outstanding_amount``,
``pending_merchant_payment_amount``, ``due_date``…) and ``payment_methods`` (``[{type,
data: {iban, bic, bank_name}}]``, the account the buyer pays to), as Billie's SDK reads them
(``src/Model/Order.php``, ``Invoice.php``, ``OrderPaymentMethod.php`` of
ozean12/billie-shop-plugin-sdk). ``GET invoices/{uuid}``
also lists the invoice's ``credit_notes`` (``uuid``, ``external_code``, ``amount``…).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.money import Amount, to_minor
from plugins.provider_common import UnreadableAnswer

__all__ = ["CANCELLED", "CLOSED_INVOICE", "CreditNoteView", "InvoiceSummary", "InvoiceView",
           "OrderView", "UnreadableAnswer", "minor"]

CANCELLED = frozenset({"canceled", "cancelled"})  # the API says canceled; accept both
CLOSED_INVOICE = frozenset({"complete", "canceled", "cancelled"})
SHIPPED = frozenset({"shipped", "complete", "paid_out", "late"})


def minor(value: Any, currency: str) -> int:
    """A Billie amount (JSON number read as ``Decimal``/``int``, or a decimal string) in
    minor units, rounded half up once."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise UnreadableAnswer(f"not an amount: {type(value).__name__}")
    try:
        return to_minor(Decimal(value) if not isinstance(value, Decimal) else value,
                        currency, rounding=ROUND_HALF_UP)
    except (ValueError, ArithmeticError):
        raise UnreadableAnswer("not an amount") from None


def _amount(data: Any, currency: str) -> Amount | None:
    """``{net, gross, tax}`` → :class:`Amount` (tax as gross - net); ``None`` if absent."""
    if not isinstance(data, Mapping) or data.get("gross") is None:
        return None
    gross = minor(data["gross"], currency)
    net = minor(data["net"], currency) if data.get("net") is not None else gross
    return Amount(gross, net, gross - net)


def _optional(data: Mapping[str, Any], key: str, currency: str) -> int | None:
    return None if data.get(key) is None else minor(data[key], currency)


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _object(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise UnreadableAnswer("Billie answered without a JSON object")
    return data


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    """An invoice as the order lists it."""

    uuid: str
    number: str | None
    state: str | None
    gross: int | None
    outstanding: int | None
    pending_payment: int
    due_date: date | None = None

    @property
    def creditable(self) -> int:
        """What a credit note may still take: the outstanding amount less payments the
        merchant received directly (Billie's own limit); nothing once closed."""
        if self.state in CLOSED_INVOICE:
            return 0
        open_amount = self.outstanding if self.outstanding is not None else (self.gross or 0)
        return max(open_amount - self.pending_payment, 0)

    @classmethod
    def read(cls, data: Any, currency: str) -> InvoiceSummary:
        data = _object(data)
        uuid = _text(data, "uuid")
        if uuid is None:
            raise UnreadableAnswer("an invoice without uuid")
        total = _amount(data.get("amount"), currency)
        gross = total.gross if total else _optional(data, "amount", currency)
        return cls(uuid=uuid, number=_text(data, "invoice_number"), state=_text(data, "state"),
                   gross=gross, outstanding=_optional(data, "outstanding_amount", currency),
                   pending_payment=_optional(data, "pending_merchant_payment_amount",
                                             currency) or 0,
                   due_date=_date(data.get("due_date")))


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order: ``GET orders/{id}`` or the answer of ``POST orders``."""

    uuid: str
    external_code: str | None
    state: str
    decline_reason: str | None
    amount: Amount | None
    unshipped: Amount | None
    invoices: tuple[InvoiceSummary, ...]
    bank: Mapping[str, str]

    @property
    def declined(self) -> bool:
        return self.state == "declined"

    @property
    def cancelled(self) -> bool:
        return self.state in CANCELLED

    @property
    def nothing_unshipped(self) -> bool:
        """Shipped as far as it goes: nothing left to invoice (after cancelling the rest of
        a partly invoiced order its state is ``shipped``, not cancelled)."""
        return self.state in SHIPPED and (self.unshipped is None or self.unshipped.gross == 0)

    def invoice(self, uuid: str) -> InvoiceSummary | None:
        return next((i for i in self.invoices if i.uuid == uuid), None)

    def invoice_details(self, uuid: str) -> dict[str, str]:
        """What the merchant and the shop are told of invoice ``uuid``: Billie's invoice
        number (also the reference the buyer gives, as Billie uses the external code towards
        the buyer), due date, and the IBAN and BIC the buyer pays to."""
        details = dict(self.bank)
        found = self.invoice(uuid)
        if found is not None and found.number:
            details["invoice_number"] = details["payment_reference"] = found.number
        if found is not None and found.due_date is not None:
            details["due_date"] = found.due_date.isoformat()
        return details

    @classmethod
    def read(cls, data: Any, currency: str) -> OrderView:
        data = _object(data)
        uuid, state = _text(data, "uuid"), _text(data, "state")
        if uuid is None or state is None:
            raise UnreadableAnswer("an order without uuid or state")
        invoices = data.get("invoices") or []
        if not isinstance(invoices, list):
            raise UnreadableAnswer("the order's invoices are not a list")
        return cls(uuid=uuid, external_code=_text(data, "external_code"), state=state,
                   decline_reason=_text(data, "decline_reason"),
                   amount=_amount(data.get("amount"), currency),
                   unshipped=_amount(data.get("unshipped_amount"), currency),
                   invoices=tuple(InvoiceSummary.read(i, currency) for i in invoices),
                   bank=_bank(data))


def _date(value: Any) -> date | None:
    """``2024-07-31`` or ``2024-07-31 00:00:00`` (Billie sends either); ``None`` otherwise."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip()).date()
    except ValueError:
        return None


def _bank(data: Mapping[str, Any]) -> dict[str, str]:
    """IBAN, BIC and bank name the buyer pays to: the selected payment method's, else the
    first bank transfer's, else the legacy ``bank_account``."""
    methods = [m for m in data.get("payment_methods") or () if isinstance(m, Mapping)]
    selected = data.get("selected_payment_method")
    chosen = next((m for m in methods if m.get("type") == selected), None) or next(
        (m for m in methods if m.get("type") == "bank_transfer"), None)
    source = chosen.get("data") if chosen else data.get("bank_account")
    if not isinstance(source, Mapping):
        return {}
    return {key: value for key in ("iban", "bic", "bank_name")
            if isinstance(value := source.get(key), str) and value}


@dataclass(frozen=True, slots=True)
class CreditNoteView:
    uuid: str | None
    external_code: str | None
    amount: Amount | None


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """An invoice with its credit notes: ``GET invoices/{uuid}``."""

    uuid: str
    number: str | None
    state: str | None
    credit_notes: tuple[CreditNoteView, ...] | None  # None: the answer does not list them

    @classmethod
    def read(cls, data: Any, currency: str) -> InvoiceView:
        data = _object(data)
        notes = data.get("credit_notes")
        listed = None if not isinstance(notes, list) else tuple(
            CreditNoteView(_text(n, "uuid"), _text(n, "external_code"),
                           _amount(n.get("amount"), currency))
            for n in notes if isinstance(n, Mapping))
        return cls(uuid=_text(data, "uuid") or "", number=_text(data, "invoice_number"),
                   state=_text(data, "state"), credit_notes=listed)
