"""The ZUGFeRD / Factur-X PDF (profile EN 16931) of a local-provider invoice or credit note:
a PDF/A-3b whose visible pages show the document and, for an invoice, the payment block
with its EPC QR code (GiroCode), and which carries the same CII XML as
:func:`core.einvoice.cii.document_xml` as its associated file ``factur-x.xml``.

Both the pages and the XML render one :class:`~core.einvoice.cii.Figures`, so they show
the same numbers to the cent. fpdf2 draws the pages with DejaVu Sans (embedded, as PDF/A
requires; Debian package ``fonts-dejavu-core``) and an sRGB output intent (the ICC profile
that Pillow's LittleCMS builds); the ``factur-x`` package embeds the XML and writes the
XMP metadata (``pdfaid`` part 3, conformance B, and the Factur-X extension schema).
:mod:`core.einvoice.pdfa` checks the result.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from fpdf import FPDF
from fpdf.enums import OutputIntentSubType, XPos, YPos
from fpdf.fonts import FontFace
from fpdf.output import PDFICCProfile

from core.einvoice.cii import Figures, document_figures, exemption, figures_xml, line_price
from core.errors import ConfigurationError
from core.ledger.models import Invoice
from core.ledger.store import Ledger
from core.money import to_decimal
from core.payments.block import PaymentBlock, printed_reference, qr_png
from core.receivables.documents import group_iban
from core.receivables.texts import texts_for

__all__ = ["AF_RELATIONSHIP", "FONT_FILES", "document_pdf", "figures_pdf", "fonts_available",
           "payment_block",
           "pdf_language", "srgb_profile"]

# The XML is the invoice's full alternative representation (Factur-X / ZUGFeRD 2.x: use
# "Alternative" from profile BASIC on; "Data" is what MINIMUM and BASIC WL must use).
AF_RELATIONSHIP = "alternative"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
             "/usr/local/share/fonts/dejavu", "/opt/homebrew/share/fonts/dejavu")
_FAMILY = "dejavu"

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "invoice": "Rechnung", "credit_note": "Gutschrift",
        "number.invoice": "Rechnungsnummer", "number.credit_note": "Gutschriftsnummer",
        "date": "Datum", "delivery": "Leistungsdatum", "order": "Bestellnummer",
        "buyer_reference": "Ihre Referenz", "due": "Fällig am", "buyer_vat": "Ihre USt-IdNr.",
        "credited": "Zu Rechnung", "attention": "z. Hd.",
        "pos": "Pos.", "item": "Bezeichnung", "quantity": "Menge", "price": "Einzelpreis",
        "rate": "USt", "amount": "Betrag", "sku": "Art.-Nr.", "piece": "Stk.",
        "charge": "Zuschlag", "allowance": "Nachlass",
        "line_total": "Summe Positionen (netto)", "charge_total": "Zuschläge (netto)",
        "allowance_total": "Nachlässe (netto)", "net": "Nettobetrag",
        "tax": "Umsatzsteuer", "gross.invoice": "Rechnungsbetrag",
        "gross.credit_note": "Gutschriftsbetrag",
        "breakdown": "Umsatzsteuer nach Steuersätzen", "category": "Kategorie",
        "basis": "Nettobetrag", "S": "Regelsteuersatz", "Z": "Nullsatz",
        "K": "Innergemeinschaftliche Lieferung", "G": "Ausfuhrlieferung",
        "pay_heading": "Zahlung per Überweisung",
        "girocode": "GiroCode: mit der Banking-App scannen",
        "vat_id": "USt-IdNr.", "tax_number": "Steuernr.", "phone": "Tel.",
        "page": "Seite {n} von {of}",
        "note.installment": "Rate {n} von {of} zur Bestellung {order}.",
        "note.credited": "Gutschrift zur Rechnung {number} vom {date}.",
        "terms.invoice": "{plan}Zahlbar ohne Abzug bis {due} per Überweisung mit "
                         "Verwendungszweck {reference}.",
        "terms.plan": "Rate {n} von {of}: ",
        "terms.credit_note": "Wird mit Rechnung {number} verrechnet; ein bereits gezahlter "
                             "Betrag wird erstattet.",
        "einvoice": "Dieses Dokument enthält seine Daten als E-Rechnung (EN 16931, "
                    "ZUGFeRD / Factur-X) in der Datei factur-x.xml.",
        "rate_long": "Steuersatz", "tax_amount": "Umsatzsteuer",
    },
    "en": {
        "invoice": "Invoice", "credit_note": "Credit note",
        "number.invoice": "Invoice number", "number.credit_note": "Credit note number",
        "date": "Date", "delivery": "Date of supply", "order": "Order number",
        "buyer_reference": "Your reference", "due": "Due date", "buyer_vat": "Your VAT ID",
        "credited": "For invoice", "attention": "Attn.",
        "pos": "No.", "item": "Description", "quantity": "Qty", "price": "Unit price",
        "rate": "VAT", "amount": "Amount", "sku": "SKU", "piece": "pcs",
        "charge": "Charge", "allowance": "Allowance",
        "line_total": "Total of lines (net)", "charge_total": "Charges (net)",
        "allowance_total": "Allowances (net)", "net": "Net amount",
        "tax": "VAT", "gross.invoice": "Invoice total", "gross.credit_note": "Credit total",
        "breakdown": "VAT by rate", "category": "Category", "basis": "Net amount",
        "S": "Standard rate", "Z": "Zero rated", "K": "Intra-Community supply",
        "G": "Export outside the EU",
        "pay_heading": "Payment by bank transfer",
        "girocode": "GiroCode: scan with your banking app",
        "vat_id": "VAT ID", "tax_number": "Tax number", "phone": "Phone",
        "page": "Page {n} of {of}",
        "note.installment": "Installment {n} of {of} for order {order}.",
        "note.credited": "Credit note for invoice {number} of {date}.",
        "terms.invoice": "{plan}Payable without deduction by {due} by bank transfer "
                         "quoting the reference {reference}.",
        "terms.plan": "Installment {n} of {of}: ",
        "terms.credit_note": "Will be set off against invoice {number}; any amount already "
                             "paid will be refunded.",
        "einvoice": "This document carries its data as an e-invoice (EN 16931, ZUGFeRD / "
                    "Factur-X) in the file factur-x.xml.",
        "rate_long": "VAT rate", "tax_amount": "VAT amount",
    },
}


def pdf_language(figures: Figures) -> str:
    """German, unless the buyer's language is English."""
    wanted = str(figures.buyer.get("language") or "").replace("_", "-").lower()
    return "en" if wanted.split("-")[0] == "en" else "de"


@cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile of the output intent, built by LittleCMS (through Pillow, which
    fpdf2 already depends on): an ICC v4 display profile, as PDF/A-2 and -3 allow."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def fonts_available() -> bool:
    """Whether the fonts the PDF embeds are on this machine."""
    try:
        _font_dir()
    except ConfigurationError:
        return False
    return True


def _font_dir() -> Path:
    """Where DejaVu Sans is: ``$INVOICEKIT_FONT_DIR``, else the usual system folders."""
    folders = [os.environ["INVOICEKIT_FONT_DIR"]] if os.environ.get("INVOICEKIT_FONT_DIR") \
        else list(FONT_DIRS)
    for folder in folders:
        if all((Path(folder) / name).is_file() for name in FONT_FILES.values()):
            return Path(folder)
    raise ConfigurationError(
        f"the ZUGFeRD PDF needs the DejaVu Sans fonts ({', '.join(FONT_FILES.values())}) "
        f"embedded; none found in {', '.join(folders)}: install the Debian package "
        "fonts-dejavu-core or point INVOICEKIT_FONT_DIR at a folder holding them")


def payment_block(figures: Figures) -> PaymentBlock | None:
    """The payment block of an invoice as issued (its gross amount, due date, virtual IBAN
    and reference: the XML's BG-16, BT-9 and BT-115); ``None`` for a credit note."""
    if figures.credit_note:
        return None
    invoice = figures.invoice
    return PaymentBlock(account_holder=figures.merchant.account_holder, iban=invoice.iban,
                        bic=invoice.bic, reference=figures.payment_reference,
                        due_on=figures.due_on, amount=invoice.gross,
                        currency=invoice.currency, invoice_number=invoice.number)


def document_pdf(ledger: Ledger, invoice: Invoice, xml: bytes | None = None) -> bytes:
    """The ZUGFeRD / Factur-X PDF/A-3 (profile EN 16931) of a local-provider invoice or
    credit note, with ``xml`` embedded as ``factur-x.xml``: the document's XML as issued
    (:func:`core.einvoice.documents.render` passes the stored one), by default
    :func:`~core.einvoice.cii.document_xml`'s.

    Raises :class:`ConfigurationError` when the merchant lacks seller details the document
    needs or the fonts are missing, :class:`~core.errors.NotFound` when the ledger has no
    operation behind the document.
    """
    return figures_pdf(document_figures(ledger, invoice), xml)


def figures_pdf(figures: Figures, xml: bytes | None = None) -> bytes:
    """The ZUGFeRD PDF of a document's :class:`~core.einvoice.cii.Figures`, carrying
    ``xml`` byte for byte (by default the figures' own XML)."""
    from facturx import generate_from_binary

    if xml is None:
        xml = figures_xml(figures)
    language = pdf_language(figures)
    words = TEXTS[language]
    kind = "credit_note" if figures.credit_note else "invoice"
    title = f"{words[kind]} {figures.invoice.number}"
    visible = _Page(figures, language).render(title)
    return generate_from_binary(
        visible, xml, flavor="factur-x", level="en16931", check_xsd=True,
        pdf_metadata={"author": figures.merchant.name, "title": title,
                      "subject": f"{title}: {figures.buyer_name}",
                      "keywords": f"{words[kind]}, ZUGFeRD, Factur-X, EN 16931"},
        lang=texts_for(language)["locale"].replace("_", "-"),
        afrelationship=AF_RELATIONSHIP, xmp_compression=False)


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


class _Pdf(FPDF):
    """An A4 page with the seller's details and the page number in the footer."""

    footer_lines: tuple[str, ...] = ()
    page_text = "{n}/{of}"

    def footer(self) -> None:
        self.set_y(-20)
        self.set_font(_FAMILY, "", 7)
        for text in self.footer_lines:
            self.cell(0, 3.5, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, 3.5, self.page_text.format(n=self.page_no(), of="{nb}"), align="R")


class _Page:
    """Lays out one document's pages."""

    def __init__(self, figures: Figures, language: str) -> None:
        self.figures = figures
        self.words: Mapping[str, str] = TEXTS[language]
        self.language = language
        self.locale = texts_for(language)["locale"]
        self.currency = figures.invoice.currency
        self.kind = "credit_note" if figures.credit_note else "invoice"

    # -- formatting --------------------------------------------------------------------

    def money(self, minor: int) -> str:
        return format_currency(to_decimal(minor, self.currency), self.currency,
                               locale=self.locale)

    def amount(self, value: Decimal) -> str:
        return format_currency(value, self.currency, locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, "medium", locale=self.locale)

    def rate(self, rate: Decimal) -> str:
        return format_percent(rate.normalize().scaleb(-2), locale=self.locale,
                              decimal_quantization=False)

    def country(self, code: str) -> str:
        return Locale.parse(self.locale).territories.get(code, code)

    # -- the page ----------------------------------------------------------------------

    def render(self, title: str) -> bytes:
        figures, words = self.figures, self.words
        pdf = _Pdf(orientation="portrait", unit="mm", format="A4")
        pdf.pdf_version = "1.7"  # PDF/A-3 is based on PDF 1.7 (associated files)
        folder = _font_dir()
        for style, name in FONT_FILES.items():
            pdf.add_font(_FAMILY, style, str(folder / name))
        pdf.add_output_intent(
            OutputIntentSubType.PDFA, output_condition_identifier="sRGB IEC61966-2.1",
            output_condition="sRGB IEC61966-2.1", registry_name="http://www.color.org",
            dest_output_profile=PDFICCProfile(contents=srgb_profile(), n=3,
                                              alternate="DeviceRGB"),
            info="sRGB IEC61966-2.1")
        pdf.set_creation_date(_noon(figures.invoice.issued_on))
        pdf.set_title(title)
        pdf.set_author(figures.merchant.name)
        pdf.set_creator("invoicekit")
        pdf.footer_lines = self._footer_lines()
        pdf.page_text = words["page"]
        pdf.set_margins(left=20, top=18, right=20)
        pdf.set_auto_page_break(auto=True, margin=25)
        pdf.add_page()
        self._letterhead(pdf)
        self._title(pdf, title)
        self._items(pdf)
        self._totals(pdf)
        self._breakdown(pdf)
        self._terms(pdf)
        block = payment_block(figures)
        if block is not None:
            self._payment(pdf, block)
        pdf.ln(4)
        pdf.set_font(_FAMILY, "", 7)
        pdf.multi_cell(0, 3.5, words["einvoice"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return bytes(pdf.output())

    def _footer_lines(self) -> tuple[str, ...]:
        figures, words, seller = self.figures, self.words, self.figures.seller
        address = ", ".join(p for p in (seller.get("street"), seller.get("address_2"),
                                        f"{seller.get('postcode', '')} {seller.get('city', '')}"
                                        .strip()) if p)
        first = " · ".join(p for p in (figures.merchant.name, address) if p)
        second = [seller.get("register") or ""]
        if seller.get("vat_id"):
            second.append(f"{words['vat_id']} {seller['vat_id']}")
        if seller.get("tax_number"):
            second.append(f"{words['tax_number']} {seller['tax_number']}")
        contact = [seller.get("contact_name") or ""]
        if seller.get("phone"):
            contact.append(f"{words['phone']} {seller['phone']}")
        contact.append(seller.get("email") or "")
        return (first, " · ".join(p for p in second if p),
                " · ".join(p for p in contact if p))

    def _letterhead(self, pdf: FPDF) -> None:
        figures, words, seller, buyer = (self.figures, self.words, self.figures.seller,
                                         self.figures.buyer)
        invoice = figures.invoice
        pdf.set_font(_FAMILY, "B", 14)
        pdf.cell(0, 7, figures.merchant.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(_FAMILY, "", 8)
        sender = " · ".join(p for p in (
            figures.merchant.name, seller.get("street"),
            f"{seller.get('postcode', '')} {seller.get('city', '')}".strip()) if p)
        pdf.set_y(40)
        pdf.set_font(_FAMILY, "", 7)
        pdf.cell(90, 4, sender, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        pdf.set_font(_FAMILY, "", 10)
        person = " ".join(p for p in (buyer.get("first_name"), buyer.get("last_name")) if p)
        address = [figures.buyer_name]
        if person:
            address.append(f"{words['attention']} {person}")
        address += [buyer.get("street") or "", buyer.get("address_2") or "",
                    f"{buyer.get('postcode', '')} {buyer.get('city', '')}".strip()]
        if buyer.get("country") and buyer.get("country") != figures.merchant.country:
            address.append(self.country(buyer["country"]).upper())
        for text in (a for a in address if a):
            pdf.cell(90, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        bottom = pdf.get_y()

        rows = [(words[f"number.{self.kind}"], invoice.number),
                (words["date"], self.day(invoice.issued_on))]
        if figures.credited is not None:
            rows.append((words["credited"], f"{figures.credited.number} "
                                            f"({self.day(figures.credited.issued_on)})"))
        rows += [(words["delivery"], self.day(figures.delivery_date)),
                 (words["order"], figures.order.order_number)]
        if figures.buyer_reference != figures.order.order_number:
            rows.append((words["buyer_reference"], figures.buyer_reference))
        if figures.buyer_vat:
            rows.append((words["buyer_vat"], figures.buyer_vat))
        if figures.due_on is not None:
            rows.append((words["due"], self.day(figures.due_on)))
        pdf.set_y(40)
        pdf.set_font(_FAMILY, "", 9)
        for label, value in rows:
            pdf.set_x(118)
            pdf.cell(34, 5, label)
            pdf.cell(38, 5, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(max(bottom, pdf.get_y()) + 8)

    def _title(self, pdf: FPDF, title: str) -> None:
        figures, words = self.figures, self.words
        pdf.set_font(_FAMILY, "B", 13)
        pdf.cell(0, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(_FAMILY, "", 9)
        notes = []
        if figures.installment:
            n, of = figures.installment
            notes.append(words["note.installment"].format(n=n, of=of,
                                                          order=figures.order.order_number))
        if figures.credited is not None:
            notes.append(words["note.credited"].format(
                number=figures.credited.number, date=self.day(figures.credited.issued_on)))
        for text in notes:
            pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    def _items(self, pdf: FPDF) -> None:
        figures, words = self.figures, self.words
        pdf.set_font(_FAMILY, "", 8.5)
        with pdf.table(col_widths=(10, 66, 18, 30, 14, 32), width=170, align="LEFT",
                       text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
                       borders_layout="HORIZONTAL_LINES", line_height=4,
                       padding=(0.8, 1), headings_style=FontFace(emphasis="BOLD")) as table:
            table.row([words[k] for k in ("pos", "item", "quantity", "price", "rate",
                                          "amount")])
            for n, item in enumerate(figures.lines, start=1):
                price, basis = line_price(item, self.currency)
                unit = f" {words['piece']}" if item.sku else ""
                name = item.name + (f"\n{words['sku']} {item.sku}" if item.sku else "")
                price_text = self.amount(price) + (
                    f" / {format_decimal(basis, locale=self.locale)}{unit}" if basis else "")
                table.row([str(n), name, f"{format_decimal(item.quantity, locale=self.locale)}"
                                         f"{unit}", price_text, self.rate(item.rate),
                           self.money(item.net)])
            for item in figures.charges:
                label = words["charge" if item.net >= 0 else "allowance"]
                table.row(["", f"{label}: {item.name}", "", "", self.rate(item.rate),
                           self.money(item.net)])
        pdf.ln(3)

    def _totals(self, pdf: FPDF) -> None:
        figures, words, invoice = self.figures, self.words, self.figures.invoice
        rows = [(words["line_total"], self.money(figures.line_total))]
        if figures.charge_total:
            rows.append((words["charge_total"], self.money(figures.charge_total)))
        if figures.allowance_total:
            rows.append((words["allowance_total"], self.money(-figures.allowance_total)))
        rows += [(words["net"], self.money(invoice.net)), (words["tax"], self.money(invoice.tax))]
        pdf.set_font(_FAMILY, "", 9)
        with pdf.table(col_widths=(60, 32), width=92, align="RIGHT",
                       text_align=("LEFT", "RIGHT"), borders_layout="NONE",
                       first_row_as_headings=False, line_height=4.5, padding=(0.3, 1)) as table:
            for label, value in rows:
                table.row([label, value])
            table.row([words[f"gross.{self.kind}"], self.money(invoice.gross)],
                      style=FontFace(emphasis="BOLD"))
        pdf.ln(4)

    def _breakdown(self, pdf: FPDF) -> None:
        figures, words = self.figures, self.words
        pdf.set_font(_FAMILY, "B", 9)
        pdf.cell(0, 5, words["breakdown"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(_FAMILY, "", 8.5)
        reasons = []
        with pdf.table(col_widths=(70, 20, 40, 40), width=170, align="LEFT",
                       text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                       borders_layout="HORIZONTAL_LINES", line_height=4, padding=(0.8, 1),
                       headings_style=FontFace(emphasis="BOLD")) as table:
            table.row([words["category"], words["rate_long"], words["basis"],
                       words["tax_amount"]])
            for rate, amount in figures.by_rate:
                category = figures.categories[rate]
                table.row([f"{words[category]} ({category})", self.rate(rate),
                           self.money(amount.net), self.money(amount.tax)])
                reason = exemption(category)
                if reason and reason not in reasons:
                    reasons.append(reason)
        for text, code in reasons:
            pdf.multi_cell(0, 4, f"{text} ({code})", align="L", new_x=XPos.LMARGIN,
                           new_y=YPos.NEXT)
        pdf.ln(3)

    def _terms(self, pdf: FPDF) -> None:
        figures, words = self.figures, self.words
        if figures.credited is not None:
            text = words["terms.credit_note"].format(number=figures.credited.number)
        else:
            plan = (words["terms.plan"].format(n=figures.installment[0],
                                               of=figures.installment[1])
                    if figures.installment else "")
            due = figures.due_on or figures.invoice.issued_on
            text = words["terms.invoice"].format(plan=plan, due=self.day(due),
                                                 reference=figures.payment_reference)
        pdf.set_font(_FAMILY, "", 9)
        pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)

    def _payment(self, pdf: FPDF, block: PaymentBlock) -> None:
        """The payment block (as :func:`core.payments.block.to_text` words it) with the
        GiroCode beside it."""
        labels = texts_for(self.language)
        rows = [(labels["account_holder"], block.account_holder),
                (labels["iban"], group_iban(block.iban))]
        if block.bic:
            rows.append((labels["bic"], block.bic))
        rows += [(labels["reference"], printed_reference(block)),
                 (labels["amount"], self.money(block.amount))]
        if block.due_on is not None:  # worded as block.py's to_text has it
            rows.append((labels["pay_by"], format_date(block.due_on, "long",
                                                       locale=self.locale)))
        size = 30  # mm: the GiroCode with its quiet zone
        needed = max(len(rows) * 5 + 6, size + 4)
        if pdf.get_y() + needed > pdf.h - pdf.b_margin:
            pdf.add_page()
        top = pdf.get_y()
        pdf.set_font(_FAMILY, "B", 9)
        pdf.cell(0, 6, self.words["pay_heading"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(_FAMILY, "", 9)
        for label, value in rows:
            pdf.cell(38, 5, label)
            pdf.cell(90, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        bottom = pdf.get_y()
        if block.qr_available:
            x = pdf.w - pdf.r_margin - size
            pdf.image(io.BytesIO(qr_png(block, scale=4)), x=x, y=top, w=size, h=size,
                      title="GiroCode", alt_text=f"EPC QR code for {block.invoice_number}")
            pdf.set_xy(x - 8, top + size)
            pdf.set_font(_FAMILY, "", 6.5)
            pdf.cell(size + 8, 3.5, self.words["girocode"], align="C")
            bottom = max(bottom, top + size + 4)
        pdf.set_xy(pdf.l_margin, bottom)
