"""Dunning documents: what one notice says, rendered as a plain-text e-mail or a PDF letter.

Amounts and dates are formatted with babel for the notice's language. A notice states only
what the buyer really owes: fee, interest and total lines appear only when they add to the
principal. The letter uses the PDF core font Helvetica in WinAnsi (windows-1252) encoding,
so it needs no font file on the machine and still prints umlauts, accents and "€".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_percent
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from core.money import is_known_currency, to_decimal
from core.receivables.texts import texts_for

__all__ = ["KINDS", "Notice", "render_email", "render_letter", "safe_key"]

KINDS = ("reminder", "final", "upcoming", "cancellation")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Notice:
    """What one dunning notice says; every amount in minor units of ``currency``."""

    key: str
    kind: str
    language: str
    dated: date
    pay_by: date | None
    merchant_name: str
    buyer_company: str
    buyer_name: str | None
    buyer_email: str
    buyer_address: tuple[str, ...]
    order_number: str
    invoice_number: str
    invoice_date: date
    due_on: date
    installment: tuple[int, int] | None
    currency: str
    principal: int
    fee: int
    interest: int
    interest_rate: Decimal | None
    interest_from: date | None
    payment_reference: str
    iban: str
    bic: str | None
    account_holder: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if not is_known_currency(self.currency):
            raise ValueError("currency must be a known ISO 4217 code")
        for name in ("principal", "fee", "interest"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int of minor units")
        if self.pay_by is None and self.kind != "cancellation":
            raise ValueError(f"pay_by is required for a {self.kind} notice")
        if self.interest and (self.interest_rate is None or self.interest_from is None):
            raise ValueError("interest needs interest_rate and interest_from")
        if self.installment is not None:
            n, of = self.installment
            if not 1 <= n <= of:
                raise ValueError("installment must be (n, of) with 1 <= n <= of")

    @property
    def total(self) -> int:
        """Principal plus fee plus interest, in minor units."""
        return self.principal + self.fee + self.interest


def safe_key(key: str) -> str:
    """``key`` reduced to ``[A-Za-z0-9._-]`` for file names and Message-IDs.

    A key that had to change gets a short hash of the original, so distinct keys stay apart.
    """
    cleaned = re.sub(r"\.{2,}", ".", _UNSAFE.sub("-", key)).strip(".")[:120]
    if cleaned == key and cleaned:
        return cleaned
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    return f"{cleaned}-{digest}" if cleaned else f"notice-{digest}"


def group_iban(iban: str) -> str:
    """An IBAN in groups of four: ``DE89 3704 0044 0532 0130 00``."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


@dataclass(frozen=True)
class _Content:
    """A notice's wording, laid out by the e-mail and the letter renderer alike."""

    subject: str
    date: str
    greeting: str
    intro: str
    amounts: tuple[tuple[str, str], ...]
    payment_intro: str | None
    payment: tuple[tuple[str, str], ...]
    outro: tuple[str, ...]
    closing: str
    colon: str


@lru_cache(maxsize=4096)
def _money(minor: int, currency: str, locale: str) -> str:
    return format_currency(to_decimal(minor, currency), currency, locale=locale)


@lru_cache(maxsize=4096)
def _long_date(value: date, locale: str) -> str:
    return format_date(value, "long", locale=locale)


@lru_cache(maxsize=256)
def _percent(rate: Decimal, locale: str) -> str:
    return format_percent(rate.normalize().scaleb(-2), locale=locale,
                          decimal_quantization=False)


class _Policy(EmailPolicy):
    """``email.policy.default``, parsing each distinct (name, value) of the headers repeated
    from one notice to the next (sender, date, content headers) once."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if isinstance(value, str):
            return _parsed_header(self, name, value)
        return super().header_store_parse(name, value)


@lru_cache(maxsize=1024)
def _parsed_header(policy: EmailPolicy, name: str, value: str) -> tuple[str, Any]:
    return EmailPolicy.header_store_parse(policy, name, value)


POLICY = _Policy()


def compose(notice: Notice) -> _Content:
    """Fill the language's templates with the notice's formatted data."""
    words = texts_for(notice.language)
    locale = words["locale"]

    def money(minor: int) -> str:
        return _money(minor, notice.currency, locale)

    def day(value: date) -> str:
        return _long_date(value, locale)

    installment = ""
    if notice.installment is not None:
        n, of = notice.installment
        installment = words["installment"].format(n=n, of=of)
    fields = {
        "invoice_number": notice.invoice_number,
        "installment": installment,
        "invoice_date": day(notice.invoice_date),
        "order_number": notice.order_number,
        "due_on": day(notice.due_on),
        "pay_by": day(notice.pay_by) if notice.pay_by else "",
        "merchant_name": notice.merchant_name,
    }
    subject = " ".join(words[f"subject.{notice.kind}"].format(**fields).split())
    greeting = (words["greeting_named"].format(name=notice.buyer_name) if notice.buyer_name
                else words["greeting"])
    amounts: list[tuple[str, str]] = []
    payment: list[tuple[str, str]] = []
    outro: list[str] = []
    payment_intro = None
    if notice.kind != "cancellation":
        charged = notice.kind != "upcoming"
        fee = notice.fee if charged else 0
        interest = notice.interest if charged else 0
        due = notice.principal + fee + interest
        amounts.append((words["principal"], money(notice.principal)))
        if fee > 0:
            amounts.append((words["fee"], money(fee)))
        if interest > 0 and notice.interest_rate is not None and notice.interest_from:
            rate = _percent(notice.interest_rate, locale)
            label = words["interest"].format(rate=rate, since=day(notice.interest_from))
            amounts.append((label, money(interest)))
        if due != notice.principal:
            amounts.append((words["total"], money(due)))
        payment_intro = words["payment_intro"]
        payment.append((words["account_holder"], notice.account_holder))
        payment.append((words["iban"], group_iban(notice.iban)))
        if notice.bic:
            payment.append((words["bic"], notice.bic))
        payment.append((words["reference"], notice.payment_reference))
        payment.append((words["amount"], money(due)))
        payment.append((words["pay_by"], fields["pay_by"]))
        if notice.kind == "final":
            outro.append(words["handover"].format(**fields))
        outro.append(words["already_paid"].format(**fields))
    return _Content(
        subject=subject,
        date=day(notice.dated),
        greeting=greeting,
        intro=words[f"intro.{notice.kind}"].format(**fields),
        amounts=tuple(amounts),
        payment_intro=payment_intro,
        payment=tuple(payment),
        outro=tuple(outro),
        closing=words["closing"],
        colon=words["colon"],
    )


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def render_email(notice: Notice, sender: str) -> EmailMessage:
    """The notice as a plain-text UTF-8 e-mail from ``sender`` to the buyer."""
    check_recipient(notice)
    return _message(notice, sender, compose(notice))


def check_recipient(notice: Notice) -> None:
    if "@" not in notice.buyer_email or any(c.isspace() for c in notice.buyer_email):
        raise ValueError("buyer_email is not an e-mail address")


def email_body(notice: Notice, content: _Content) -> str:
    """The e-mail's text."""
    lines = [content.greeting, "", content.intro, ""]
    if content.amounts:
        lines += [f"{label}{content.colon}{value}" for label, value in content.amounts]
        lines.append("")
    if content.payment_intro:
        lines.append(content.payment_intro)
        lines += [f"{label}{content.colon}{value}" for label, value in content.payment]
        lines.append("")
    for paragraph in content.outro:
        lines += [paragraph, ""]
    lines += [content.closing, notice.merchant_name]
    return "\n".join(lines) + "\n"


def _message(notice: Notice, sender: str, content: _Content) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    for name, value in email_headers(notice, sender, content):
        message[name] = value
    message.set_content(email_body(notice, content), charset="utf-8", cte="quoted-printable")
    return message


def email_headers(notice: Notice, sender: str, content: _Content) -> list[tuple[str, str]]:
    """The e-mail's headers before the content headers, in order."""
    return [("From", sender), ("To", notice.buyer_email), ("Subject", content.subject),
            ("Date", _date_header(notice.dated)),
            ("Message-ID", f"<{safe_key(notice.key)}@invoicekit>")]


@lru_cache(maxsize=256)
def _date_header(day: date) -> str:
    return format_datetime(_noon(day))


_PDF_SUBSTITUTES = {"\u202f": "\u00a0", "\u2009": " ", "\u2011": "-", "\u2212": "-"}


def _pdf_text(text: str) -> str:
    """``text`` restricted to windows-1252, the encoding of the PDF core fonts.

    Narrow spaces become no-break spaces, accented letters outside the code page lose their
    accent, anything else becomes ``?``.
    """
    out = []
    for char in text:
        char = _PDF_SUBSTITUTES.get(char, char)
        if unicodedata.category(char) == "Cc":
            char = " "
        try:
            char.encode("cp1252")
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(c))
            try:
                base.encode("cp1252")
            except UnicodeEncodeError:
                base = ""
            char = base or "?"
        out.append(char)
    return "".join(out)


def render_letter(notice: Notice) -> bytes:
    """The notice as an A4 PDF letter (Helvetica, windows-1252; no font file needed)."""
    content = compose(notice)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(_noon(notice.dated))
    pdf.set_title(_pdf_text(content.subject))
    pdf.set_author(_pdf_text(notice.merchant_name))
    pdf.set_lang(texts_for(notice.language)["locale"].replace("_", "-"))
    pdf.set_margins(left=25, top=20, right=20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    def line(text: str, height: float = 5, **kwargs: object) -> None:
        pdf.cell(0, height, _pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, **kwargs)

    def paragraph(text: str) -> None:
        pdf.multi_cell(0, 5, _pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)

    pdf.set_font("helvetica", "B", 14)
    line(notice.merchant_name, 8)

    pdf.set_y(45)
    pdf.set_font("helvetica", "", 7)
    line(notice.merchant_name, 4)
    pdf.ln(2)
    pdf.set_font("helvetica", "", 10)
    address = [notice.buyer_company, *([notice.buyer_name] if notice.buyer_name else []),
               *notice.buyer_address]
    for text in address:
        line(text)

    pdf.set_y(max(pdf.get_y() + 10, 95))
    line(content.date, align="R")
    pdf.ln(5)
    pdf.set_font("helvetica", "B", 11)
    pdf.multi_cell(0, 6, _pdf_text(content.subject), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("helvetica", "", 10)
    paragraph(content.greeting)
    paragraph(content.intro)

    if content.amounts:
        last = len(content.amounts) - 1
        with pdf.table(col_widths=(120, 45), width=165, align="LEFT", text_align=("LEFT", "RIGHT"),
                       borders_layout="NONE", first_row_as_headings=False,
                       line_height=5.5, padding=(0.5, 0)) as table:
            for index, (label, value) in enumerate(content.amounts):
                bold = len(content.amounts) > 1 and index == last
                row = table.row(style=FontFace(emphasis="BOLD") if bold else None)
                row.cell(_pdf_text(label))
                row.cell(_pdf_text(value))
        pdf.ln(4)

    if content.payment_intro:
        paragraph(content.payment_intro)
        with pdf.table(col_widths=(50, 115), width=165, align="LEFT", text_align="LEFT",
                       borders_layout="NONE", first_row_as_headings=False,
                       line_height=5.5, padding=(0.5, 0)) as table:
            for label, value in content.payment:
                row = table.row()
                row.cell(_pdf_text(label))
                row.cell(_pdf_text(value))
        pdf.ln(4)

    for text in content.outro:
        paragraph(text)
    pdf.ln(2)
    line(content.closing)
    line(notice.merchant_name)
    return bytes(pdf.output())
