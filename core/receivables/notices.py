"""What a dunning notice says, as the tick records it with its step and reads it back for
delivery: the buyer's contact and address, the notice's language, and whether a notice
decided earlier is still true when it is to go out."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.ledger.models import Merchant, Receivable
from core.receivables import charges, law
from core.receivables.documents import Notice
from core.receivables.rows import DueReceivable
from core.receivables.schedule import PAY_WITHIN

__all__ = ["LANGUAGES", "LETTER_DAYS", "address_lines", "charges_changed", "contact",
           "default_on_of", "is_written_reminder", "language_of", "no_longer_true",
           "notice_data", "notice_from_json"]

LANGUAGES = ("de", "en", "fr")
LETTER_DAYS = timedelta(days=3)  # a letter made today counts as received 3 days later


def no_longer_true(notice: Notice, receivable: Receivable | DueReceivable) -> str | None:
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


def charges_changed(notice: dict[str, Any], receivable: Receivable | DueReceivable,
                    ) -> str | None:
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


def notice_data(receivable: Receivable | DueReceivable, step_id: str, day: date, kind: str,
                allowed: law.Charges, invoice: Any, order_number: str, buyer: dict[str, Any],
                merchant: Merchant) -> dict[str, Any]:
    """What the notice of step ``step_id`` taken on ``day`` says, worded as ``kind``, the
    law allowing ``allowed`` (only a reminder or final one states charges); ``invoice``
    is the receivable's (its row will do), ``buyer`` its order's snapshot's."""
    charged = kind in ("reminder", "final")
    stated = charges.due_now(receivable, fee=allowed.fee, interest=allowed.interest) \
        if charged else charges.ChargesDue()
    interest = allowed if stated.interest else None
    pay_by = {"cancellation": None, "upcoming": receivable.due_on}.get(
        kind, max(receivable.due_on, day + PAY_WITHIN))
    return {
        "key": f"r{receivable.id}-{step_id}", "kind": kind,
        "language": language_of(buyer.get("language"), merchant),
        "dated": day.isoformat(), "pay_by": pay_by.isoformat() if pay_by else None,
        "merchant_name": merchant.name, "buyer_company": buyer.get("company") or "",
        "buyer_name": contact(buyer),
        "buyer_email": buyer["email"], "buyer_address": address_lines(buyer),
        "order_number": order_number, "invoice_number": invoice.number,
        "invoice_date": invoice.issued_on.isoformat(), "due_on": invoice.due_on.isoformat(),
        "installment": [receivable.installment, receivable.installments]
        if receivable.installment else None,
        "currency": receivable.currency, "principal": receivable.open_amount,
        "fee": stated.fee, "interest": stated.interest,
        "interest_rate": str(interest.interest_rate)
        if interest and interest.interest_rate is not None else None,
        "interest_from": interest.interest_from.isoformat()
        if interest and interest.interest_from else None,
        # what the notice claims anew, recorded once it went out; and what was open
        # before, so a notice no longer true is not sent
        "claims": {"fee": stated.new_fee, "interest": stated.new_interest},
        "charges_open": stated.fee_open + stated.interest_open,
        "payment_reference": invoice.payment_reference, "iban": invoice.iban,
        "bic": invoice.bic, "account_holder": merchant.account_holder,
    }


def is_written_reminder(step: Any) -> bool:
    """A reminder that went out in writing: it can put the buyer in default."""
    return step.status == "done" and step.channel in ("email", "letter") \
        and step.action in ("remind", "announce")


def default_on_of(receivable: Receivable | DueReceivable) -> date:
    """The first day of default (:func:`law.default_on`) from the written reminders
    delivered after the due date, each counted from its receipt: an e-mail the day it is
    sent, a letter ``LETTER_DAYS`` after it is made."""
    received = [s.taken_on + (LETTER_DAYS if s.channel == "letter" else timedelta(0))
                for s in receivable.steps
                if is_written_reminder(s) and s.taken_on > receivable.due_on]
    return law.default_on(receivable.due_on, received)
