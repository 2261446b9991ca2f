"""Mondu's answers read into small values, amounts in integer cents.

Mondu wraps each resource in a key named after it: ``{"order": {…}}`` (create, get,
confirm, cancel, adjust), ``{"invoice": {…}}``, ``{"invoices": […]}``,
``{"credit_note": {…}}`` (WooCommerce plugin ``MonduRequestWrapper``, Shopware plugin
``MonduClient``). An order carries ``uuid``, ``state``, ``external_reference_id``,
``real_price_cents`` (its current amount; the Shopware plugin compares it with the shop's
total before adjusting), ``gross_amount_cents``, ``bank_account {iban, bic,
account_holder, bank}`` and ``authorized_net_term``; an invoice ``uuid``,
``invoice_number``, ``state``, ``gross_amount_cents`` and ``credit_notes
[{uuid, external_reference_id, gross_amount_cents, tax_cents}]`` (WooCommerce plugin
``Presenters/PaymentInfo.php``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.money import Amount
from plugins.provider_common import UnreadableAnswer

__all__ = ["CANCELLED", "DECLINED", "CreditNoteView", "InvoiceView", "OrderView",
           "UnreadableAnswer", "created_uuid", "invoices_of"]

CANCELLED = frozenset({"canceled", "cancelled"})
DECLINED = "declined"
CLOSED_INVOICE = frozenset({"canceled", "cancelled", "complete"})


def _object(data: Any, key: str | None = None) -> Mapping[str, Any]:
    if key is not None and isinstance(data, Mapping) and isinstance(data.get(key), Mapping):
        data = data[key]
    if not isinstance(data, Mapping):
        raise UnreadableAnswer(f"Mondu answered without the {key or 'JSON'} object")
    return data


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _cents(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnreadableAnswer(f"{key} is not a whole number of cents")
    return value


def created_uuid(data: Any, key: str) -> str:
    """The ``uuid`` of what a ``POST`` created (``{"invoice": {"uuid": …}}``)."""
    uuid = _text(_object(data, key), "uuid")
    if uuid is None:
        raise UnreadableAnswer(f"the created {key} has no uuid")
    return uuid


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order: ``GET orders/{uuid}`` or the answer of a ``POST`` on it."""

    uuid: str
    state: str
    external_reference_id: str | None
    amount: int | None
    decline_reason: str | None
    details: Mapping[str, str]

    @property
    def declined(self) -> bool:
        return self.state == DECLINED

    @property
    def cancelled(self) -> bool:
        return self.state in CANCELLED

    @classmethod
    def read(cls, data: Any) -> OrderView:
        data = _object(data, "order")
        uuid, state = _text(data, "uuid"), _text(data, "state")
        if uuid is None or state is None:
            raise UnreadableAnswer("an order without uuid or state")
        amount = _cents(data, "real_price_cents")
        if amount is None:
            amount = _cents(data, "gross_amount_cents")
        return cls(uuid=uuid, state=state,
                   external_reference_id=_text(data, "external_reference_id"),
                   amount=amount, decline_reason=_text(data, "decline_reason"),
                   details=_details(data))


def _details(data: Mapping[str, Any]) -> dict[str, str]:
    """State, pay-to account and the hosted checkout URL, for the placement's details."""
    details = {"state": str(data.get("state"))}
    bank = data.get("bank_account")
    if isinstance(bank, Mapping):
        details.update({key: value for key in ("iban", "bic", "account_holder", "bank")
                        if isinstance(value := bank.get(key), str) and value})
    for key in ("hosted_checkout_url", "authorized_net_term"):
        if data.get(key) is not None and not isinstance(data[key], Mapping | list):
            details[key] = str(data[key])
    return details


@dataclass(frozen=True, slots=True)
class CreditNoteView:
    uuid: str | None
    external_reference_id: str | None
    gross: int
    tax: int


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """An invoice of ``GET orders/{uuid}/invoices`` with its credit notes."""

    uuid: str
    number: str | None
    state: str | None
    gross: int
    credit_notes: tuple[CreditNoteView, ...]

    @property
    def creditable(self) -> int:
        """What a credit note may still take: the invoice less its credit notes; nothing
        once Mondu closed or cancelled it."""
        if self.state in CLOSED_INVOICE:
            return 0
        return max(self.gross - sum(note.gross for note in self.credit_notes), 0)

    @classmethod
    def read(cls, data: Any) -> InvoiceView:
        data = _object(data)
        uuid = _text(data, "uuid")
        gross = _cents(data, "gross_amount_cents")
        if uuid is None or gross is None:
            raise UnreadableAnswer("an invoice without uuid or gross_amount_cents")
        notes = data.get("credit_notes") or []
        if not isinstance(notes, list):
            raise UnreadableAnswer("the invoice's credit_notes are not a list")
        return cls(uuid=uuid,
                   number=_text(data, "invoice_number") or _text(data, "external_reference_id"),
                   state=_text(data, "state"), gross=gross,
                   credit_notes=tuple(
                       CreditNoteView(_text(n, "uuid"), _text(n, "external_reference_id"),
                                      _cents(n, "gross_amount_cents") or 0,
                                      _cents(n, "tax_cents") or 0)
                       for n in notes if isinstance(n, Mapping)))

    def notes_of(self, code: str) -> list[CreditNoteView]:
        """The credit notes one operation made: reference ``code`` or ``code-<n>``."""
        return [n for n in self.credit_notes if n.external_reference_id == code
                or (n.external_reference_id or "").startswith(code + "-")]


def invoices_of(data: Any) -> tuple[InvoiceView, ...]:
    """``{"invoices": […]}`` read."""
    items = data.get("invoices") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise UnreadableAnswer("Mondu answered without an invoices list")
    return tuple(InvoiceView.read(item) for item in items)


def credit_amount(note: CreditNoteView) -> Amount:
    return Amount(note.gross, note.gross - note.tax, note.tax)
