"""The payment block of an invoice: where and how the buyer pays, and its EPC QR code.

A :class:`PaymentBlock` holds what a buyer needs for the bank transfer (account holder,
IBAN, BIC, reference, amount, due date). It renders as a few printable lines
(:func:`to_text`), as machine-readable values (:func:`to_json`) and, for euro amounts, as
an EPC069-12 "SEPA Credit Transfer" QR code (GiroCode), drawn by segno
(:func:`qr_png`, :func:`qr_svg`). The QR code's content is exposed as well
(:func:`epc_payload`) for shops that draw their own.

A reference that is a valid ISO 11649 creditor reference (``RF…``) goes into the EPC's
structured remittance field; any other (``BP<order>/<merchant>``) into its unstructured
text field, never both.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from segno import QRCode
from segno.helpers import make_epc_qr
from sqlalchemy import func, select
from stdnum import iso11649

from core.errors import ConfigurationError
from core.ledger.db import among, slices
from core.ledger.models import Charge, Invoice, Order, Receivable
from core.ledger.store import Ledger
from core.money import is_known_currency, to_decimal
from core.receivables.documents import group_iban
from core.receivables.texts import texts_for

__all__ = [
    "EPC_MAX_AMOUNT",
    "EPC_MIN_AMOUNT",
    "PaymentBlock",
    "epc_payload",
    "invoice_blocks",
    "payment_blocks",
    "payment_blocks_of",
    "qr_png",
    "qr_svg",
    "to_json",
    "to_text",
]

EPC_MIN_AMOUNT = 1  # 0.01 EUR, in cents
EPC_MAX_AMOUNT = 999_999_999_99  # 999,999,999.99 EUR, in cents
_EPC_MAX_BYTES = 331  # the EPC's limit on the whole payload
_MAX_NAME = 70
_MAX_REFERENCE = 35  # the EPC's structured field; also within its 140-character text field
_CHARSET_UTF8 = 1


def _refuse(field: str, rule: str) -> ConfigurationError:
    return ConfigurationError(f"payment block: {field} {rule}")


def _check_text(field: str, value: str | None, limit: int, *, required: bool = True) -> None:
    """A single-line value of at most ``limit`` characters (present, when ``required``)."""
    if value is None or not value.strip():
        if required:
            raise _refuse(field, "is required")
        return
    if len(value) > limit:
        raise _refuse(field, f"must be at most {limit} characters")
    if "\n" in value or "\r" in value:
        raise _refuse(field, "must be a single line")


@lru_cache(maxsize=4096)
def _compact_iban(iban: str) -> str:
    try:
        return str(IBAN(iban).compact)
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise _refuse("iban", f"is not a valid IBAN ({exc})") from None


@lru_cache(maxsize=1024)
def _compact_bic(bic: str | None) -> str | None:
    if bic is None or not bic.strip():
        return None
    try:
        return str(BIC(bic).compact)
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise _refuse("bic", f"is not a valid BIC ({exc})") from None


@lru_cache(maxsize=4096)
def _normal_reference(reference: str) -> str:
    """An RF creditor reference compacted (checked); any other reference as given. At most
    35 characters: the EPC's structured field, and well within its 140-character text."""
    _check_text("reference", reference, _MAX_REFERENCE)
    compact = iso11649.compact(reference)
    if not compact.startswith("RF"):
        return reference
    if not iso11649.is_valid(compact):
        raise _refuse("reference", "starts with RF but is not a valid ISO 11649 creditor "
                                   "reference")
    return compact


@dataclass(frozen=True, kw_only=True)
class PaymentBlock:
    """What the buyer needs to pay one invoice by bank transfer; ``amount`` in minor units.

    The IBAN and BIC are checked and kept compact, an RF reference compact; a bad field
    raises :class:`~core.errors.ConfigurationError` naming it.
    """

    account_holder: str
    iban: str
    bic: str | None = None
    reference: str
    due_on: date | None
    amount: int
    currency: str
    invoice_number: str

    def __post_init__(self) -> None:
        _check_text("account_holder", self.account_holder, _MAX_NAME)
        object.__setattr__(self, "iban", _compact_iban(self.iban))
        object.__setattr__(self, "bic", _compact_bic(self.bic))
        object.__setattr__(self, "reference", _normal_reference(self.reference))
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise _refuse("amount", "must be a non-negative int of minor units")
        if not is_known_currency(self.currency):
            raise _refuse("currency", "must be a known ISO 4217 code")
        _check_text("invoice_number", self.invoice_number, 64)

    @property
    def creditor_reference(self) -> bool:
        """True when the reference is an ISO 11649 ``RF`` creditor reference."""
        return iso11649.is_valid(self.reference)

    @property
    def qr_problem(self) -> str | None:
        """Why this block has no EPC QR code, or ``None`` when it has one."""
        if self.currency != "EUR":
            return f"EPC QR codes are for euro transfers only, this invoice is in {self.currency}"
        if not EPC_MIN_AMOUNT <= self.amount <= EPC_MAX_AMOUNT:
            return "EPC QR codes need an amount from 0.01 to 999999999.99 EUR"
        if len(_build_payload(self).encode("utf-8")) > _EPC_MAX_BYTES:
            return f"the EPC QR code's content would exceed {_EPC_MAX_BYTES} bytes"
        return None

    @property
    def qr_available(self) -> bool:
        """True when an EPC QR code can be made for this block."""
        return self.qr_problem is None


# -- the EPC QR code ----------------------------------------------------------------------


def _epc_amount(block: PaymentBlock) -> str:
    """``EUR`` and the amount without trailing zeros (``EUR12.3``, ``EUR19999``), as segno
    writes it; EPC069-12 allows up to two decimals."""
    text = f"{to_decimal(block.amount, block.currency):.2f}".rstrip("0").rstrip(".")
    return f"EUR{text}"


def _remittance(block: PaymentBlock) -> dict[str, str]:
    """The structured reference or the unstructured text, whichever the reference is."""
    if block.creditor_reference:
        return {"reference": block.reference}
    return {"text": block.reference}


def _build_payload(block: PaymentBlock) -> str:
    """The EPC069-12 lines, version 002, UTF-8; a trailing empty text field is left out."""
    remittance = _remittance(block)
    lines = ["BCD", "002", str(_CHARSET_UTF8), "SCT", block.bic or "", block.account_holder,
             block.iban, _epc_amount(block), "", remittance.get("reference", "")]
    if "text" in remittance:
        lines.append(remittance["text"])
    return "\n".join(lines)


def _require_qr(block: PaymentBlock) -> None:
    problem = block.qr_problem
    if problem is not None:
        raise ConfigurationError(f"no EPC QR code for invoice {block.invoice_number}: {problem}")


def epc_payload(block: PaymentBlock) -> str:
    """The EPC QR code's content, exactly as :func:`qr_png` and :func:`qr_svg` encode it."""
    _require_qr(block)
    return _build_payload(block)


def _qr(block: PaymentBlock) -> QRCode:
    """The EPC QR code drawn by segno (error correction level M, at most version 13)."""
    _require_qr(block)
    try:
        return make_epc_qr(block.account_holder, block.iban,
                           to_decimal(block.amount, block.currency), bic=block.bic,
                           encoding=_CHARSET_UTF8, **_remittance(block))
    except ValueError as exc:  # segno's own checks; ours should have caught it
        raise ConfigurationError(f"no EPC QR code for invoice {block.invoice_number}: "
                                 f"{exc}") from None


def qr_png(block: PaymentBlock, *, scale: int = 4, border: int = 4) -> bytes:
    """The EPC QR code as a PNG, ``scale`` pixels per module, ``border`` modules of quiet
    zone (4 is the QR standard's)."""
    buffer = io.BytesIO()
    _qr(block).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def qr_svg(block: PaymentBlock, *, scale: int = 4, border: int = 4) -> str:
    """The EPC QR code as an SVG document."""
    buffer = io.BytesIO()
    _qr(block).save(buffer, kind="svg", scale=scale, border=border, encoding="utf-8",
                    title=f"EPC QR code for invoice {block.invoice_number}")
    return buffer.getvalue().decode("utf-8")


# -- renderings ---------------------------------------------------------------------------


def printed_reference(block: PaymentBlock) -> str:
    """An RF reference in groups of four, as printed; any other reference as it is."""
    return iso11649.format(block.reference) if block.creditor_reference else block.reference


def to_json(block: PaymentBlock) -> dict[str, Any]:
    """The block as JSON values: the amount a decimal string, the due date ISO 8601."""
    problem = block.qr_problem
    return {
        "account_holder": block.account_holder,
        "iban": block.iban,
        "bic": block.bic,
        "reference": block.reference,
        "reference_type": "creditor_reference" if block.creditor_reference else "text",
        "due_on": block.due_on.isoformat() if block.due_on else None,
        "amount": str(to_decimal(block.amount, block.currency)),
        "currency": block.currency,
        "invoice_number": block.invoice_number,
        "qr_available": problem is None,
        "qr_unavailable_reason": problem,
        "epc_payload": _build_payload(block) if problem is None else None,
    }


def to_text(block: PaymentBlock, language: str = "en") -> str:
    """A few lines to print on the invoice, worded and formatted for ``language``."""
    words = texts_for(language)
    locale = words["locale"]
    amount = format_currency(to_decimal(block.amount, block.currency), block.currency,
                             locale=locale)
    rows = [(words["account_holder"], block.account_holder),
            (words["iban"], group_iban(block.iban))]
    if block.bic:
        rows.append((words["bic"], block.bic))
    rows += [(words["reference"], printed_reference(block)), (words["amount"], amount)]
    if block.due_on is not None:
        rows.append((words["pay_by"], format_date(block.due_on, "long", locale=locale)))
    return "\n".join(f"{label}{words['colon']}{value}" for label, value in rows)


# -- from the ledger ----------------------------------------------------------------------


# built once: an order's invoices (where() adds which order) with their receivables and the
# charges still open on each (Receivable.charges_open), summed with the row, not loaded
_INVOICE_BLOCKS = (
    select(Invoice, Receivable,
           select(func.coalesce(func.sum(Charge.claimed - Charge.paid - Charge.waived), 0))
           .where(Charge.receivable_id == Receivable.id).scalar_subquery())
    .join(Receivable, Receivable.invoice_id == Invoice.id)
    .where(Invoice.kind == "invoice")
    .order_by(Receivable.due_on, Invoice.id))


def payment_blocks(ledger: Ledger, order: Order) -> list[PaymentBlock]:
    """One block per invoice of the order that has a receivable, the one due first first,
    each asking what is still owed on it (principal and charges claimed)."""
    return [block for _, block in invoice_blocks(ledger, order)]


def invoice_blocks(ledger: Ledger, order: Order) -> list[tuple[Invoice, PaymentBlock]]:
    """:func:`payment_blocks`, each with the invoice it is for."""
    merchant = order.connection.merchant
    rows = ledger.session.execute(_INVOICE_BLOCKS.where(Invoice.order_id == order.id)).all()
    return [
        (invoice, PaymentBlock(
            account_holder=merchant.account_holder, iban=invoice.iban, bic=invoice.bic,
            reference=invoice.creditor_reference or invoice.payment_reference,
            due_on=invoice.due_on, amount=max(receivable.open_amount + int(charges), 0),
            currency=invoice.currency, invoice_number=invoice.number))
        for invoice, receivable, charges in rows
    ]


def payment_blocks_of(ledger: Ledger, orders: Sequence[Order]) -> dict[int, list[PaymentBlock]]:
    """:func:`payment_blocks` of many orders in a query per 500, by order id (an order
    without one is left out)."""
    by_id = {order.id: order for order in orders}
    ids = sorted(by_id)
    found: dict[int, list[PaymentBlock]] = {}
    for part in slices(ids):
        for invoice, receivable, charges in ledger.session.execute(
                _INVOICE_BLOCKS.where(among(ledger.session, Invoice.order_id,
                                            part))):
            merchant = by_id[invoice.order_id].connection.merchant
            found.setdefault(invoice.order_id, []).append(PaymentBlock(
                account_holder=merchant.account_holder, iban=invoice.iban, bic=invoice.bic,
                reference=invoice.creditor_reference or invoice.payment_reference,
                due_on=invoice.due_on, amount=max(receivable.open_amount + int(charges), 0),
                currency=invoice.currency, invoice_number=invoice.number))
    return found
