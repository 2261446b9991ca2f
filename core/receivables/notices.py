"""What a dunning notice says, as the tick records it with its step and reads it back for
delivery: the buyer's contact and address, the notice's language, and whether a notice
decided earlier is still true when it is to go out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from core.ledger.models import Merchant, Receivable
from core.receivables.documents import Notice

__all__ = ["LANGUAGES", "address_lines", "charges_changed", "contact", "language_of",
           "no_longer_true", "notice_from_json"]

LANGUAGES = ("de", "en", "fr")


def no_longer_true(notice: Notice, receivable: Receivable) -> str | None:
    """Why a notice decided earlier must not go out now, if it must not."""
    if notice.kind == "cancellation":
        return None if receivable.status == "cancelled" else \
            f"the order was not cancelled ({receivable.status})"
    if receivable.status != "open":
        return f"receivables management ended ({receivable.status})"
    if receivable.open_amount != notice.principal:
        return "the amount open changed since the notice was decided"
    if receivable.due_on != notice.due_on:
        return "the due date changed since the notice was decided"
    return None


def charges_changed(notice: dict[str, Any], receivable: Receivable) -> str | None:
    """Why a notice may not go out because the charges it states changed meanwhile."""
    before = notice.get("charges_open")
    if before is not None and before != receivable.charges_open:
        return "the charges open changed since the notice was decided"
    return None


def contact(buyer: dict[str, Any]) -> str | None:
    return " ".join(filter(None, (buyer.get("first_name"), buyer.get("last_name")))) or None


def language_of(wanted: str | None, merchant: Merchant) -> str:
    if wanted in LANGUAGES:
        return wanted
    if merchant.language in LANGUAGES:
        return merchant.language
    return {"DE": "de", "AT": "de", "FR": "fr"}.get(merchant.country, "en")


def address_lines(buyer: dict[str, Any]) -> list[str]:
    lines = [buyer.get("street") or "", buyer.get("address_2") or "",
             f"{buyer.get('postcode', '')} {buyer.get('city', '')}".strip(),
             buyer.get("country") or ""]
    return [line for line in lines if line]


def notice_from_json(data: dict[str, Any]) -> Notice:
    """The notice a step recorded, as :mod:`core.receivables.documents` renders it."""
    def day(name: str) -> date | None:
        return date.fromisoformat(data[name]) if data.get(name) else None

    return Notice(
        key=data["key"], kind=data["kind"], language=data["language"], dated=day("dated"),
        pay_by=day("pay_by"), merchant_name=data["merchant_name"],
        buyer_company=data["buyer_company"], buyer_name=data["buyer_name"],
        buyer_email=data["buyer_email"], buyer_address=tuple(data["buyer_address"]),
        order_number=data["order_number"], invoice_number=data["invoice_number"],
        invoice_date=day("invoice_date"), due_on=day("due_on"),
        installment=tuple(data["installment"]) if data.get("installment") else None,
        currency=data["currency"], principal=data["principal"], fee=data["fee"],
        interest=data["interest"],
        interest_rate=Decimal(data["interest_rate"]) if data.get("interest_rate") else None,
        interest_from=day("interest_from"), payment_reference=data["payment_reference"],
        iban=data["iban"], bic=data.get("bic"), account_holder=data["account_holder"])
