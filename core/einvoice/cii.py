"""The XRechnung document of a local-provider invoice or credit note: UN/CEFACT Cross
Industry Invoice (CII D16B) XML, EN 16931 with the XRechnung 3.0 CIUS, built with
`drafthorse`'s CII models.

Seller = the merchant (its seller details, :mod:`core.einvoice.seller`), buyer = the order's
buyer, lines and charges from the operation that made the document, the VAT breakdown per
rate equal to the ledger's figures to the cent (:mod:`core.einvoice.figures`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from drafthorse.models.accounting import ApplicableTradeTax, CategoryTradeTax
from drafthorse.models.accounting import TradeAllowanceCharge as AllowanceCharge
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem
from sqlalchemy import select

from core.einvoice.figures import Item, place_nets, split_by_rate
from core.einvoice.seller import seller_details
from core.errors import ConfigurationError, NotFound
from core.ledger.models import Invoice, Merchant, OperationRecord, Order, OrderLine
from core.ledger.store import Ledger
from core.money import Amount, to_decimal
from core.operations import RateAmounts, document_key, rates_from_json, total_of
from core.risk.company import vat_number

__all__ = ["BUSINESS_PROCESS", "XRECHNUNG_3", "Figures", "document_figures", "document_rates",
           "document_xml", "exemption", "figures_xml", "issued_documents", "line_price",
           "vat_category"]

# BT-24 specification identifier of XRechnung 3.0 (KoSIT), BT-23 business process
XRECHNUNG_3 = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
BUSINESS_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
# drafthorse checks the XML against the Factur-X EN 16931 schema it ships (the CII subset)
_SCHEMA = "FACTUR-X_EN16931"

EU = frozenset({"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR",
                "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI",
                "SK"})
# VAT categories (UNCL 5305) for 0 % with their exemption reason (BT-120) and code (BT-121)
_EXEMPTIONS = {
    "K": ("Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1 Buchst. b, § 6a UStG) / "
          "Intra-Community supply", "VATEX-EU-IC"),
    "G": ("Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1 Buchst. a, § 6 UStG) / Export outside "
          "the EU", "VATEX-EU-G"),
}
_KIND_LABELS = {  # what a line stands for when the operation named none of that rate
    "activation": "Lieferung",
    "full_credit": "Gutschrift",
    "partial_credit": "Teilgutschrift",
    "discount_transfer": "Nachträglicher Rabatt",
    "return": "Retoure",
}


@dataclass(frozen=True, slots=True)
class _Source:
    """The operation that made a document, and the document's place among those it made."""

    record: OperationRecord
    documents: list[Invoice]
    index: int


def vat_category(rate: Decimal, seller_country: str, buyer_country: str,
                 buyer_vat_id: str | None) -> str:
    """The VAT category (BT-151/BT-118) of a rate: ``S`` for any positive rate; for 0 %:
    ``K`` (intra-Community supply) to a buyer with a VAT ID in another EU country, ``G``
    (export) to a buyer outside the EU, else ``Z`` (zero rated). ``E`` (exempt) and ``AE``
    (reverse charge) are not derived: the ledger knows the rate, not the legal reason."""
    if rate > 0:
        return "S"
    if buyer_country != seller_country:
        if buyer_country not in EU:
            return "G"
        if seller_country in EU and buyer_vat_id:
            return "K"
    return "Z"


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything one e-invoice shows, read once from the ledger: both the CII XML
    (:func:`document_xml`) and the visible ZUGFeRD PDF (:mod:`core.einvoice.pdf`) render
    these, so the two never disagree. Amounts are minor units of ``invoice.currency``."""

    invoice: Invoice
    order: Order
    merchant: Merchant
    seller: dict[str, Any]  # the merchant's seller details
    buyer: dict[str, Any]  # the order's buyer as the shop sent it
    buyer_name: str  # company with legal form (BT-44)
    buyer_vat: str | None  # BT-48, with its country prefix
    buyer_reference: str  # BT-10: the shop's buyer reference (Leitweg-ID) or order number
    credited: Invoice | None  # the invoice a credit note credits (BG-3)
    installment: tuple[int, int] | None  # (n, of) for an installment invoice
    delivery_date: date  # BT-72: the invoice date (for a credit note: its invoice's)
    by_rate: RateAmounts  # the ledger's amounts per rate (BG-23)
    categories: dict[Decimal, str]  # VAT category of each rate
    lines: tuple[Item, ...]  # invoice lines (BG-25), with their net amounts
    charges: tuple[Item, ...]  # document-level charges (BG-21), negative: allowances
    notes: tuple[str, ...]  # BT-22
    payment_reference: str  # BT-83 (for a credit note: its invoice's)
    due_on: date | None  # BT-9 (invoices only)
    terms: str  # BT-20

    @property
    def credit_note(self) -> bool:
        return self.credited is not None or self.invoice.kind == "credit_note"

    @property
    def line_total(self) -> int:
        """BT-106: the sum of the lines' net amounts."""
        return sum(item.net for item in self.lines)

    @property
    def charge_total(self) -> int:
        """BT-108: the sum of the charges."""
        return sum(item.net for item in self.charges if item.net >= 0)

    @property
    def allowance_total(self) -> int:
        """BT-107: the sum of the allowances (a positive amount)."""
        return -sum(item.net for item in self.charges if item.net < 0)


def document_figures(ledger: Ledger, invoice: Invoice) -> Figures:
    """What the e-invoice of a local-provider invoice or credit note shows, from the
    ledger (see :class:`Figures`).

    Raises :class:`ConfigurationError` when the merchant lacks seller details the document
    needs, :class:`NotFound` when the ledger has no operation behind the document.
    """
    merchant = ledger.merchant(invoice.merchant_id)
    seller = seller_details(merchant)
    order = ledger.session.get(Order, invoice.order_id)
    if order is None:
        raise NotFound(f"order {invoice.order_id} of document {invoice.number} is gone")
    source, by_rate = document_rates(ledger, invoice)
    buyer = (order.snapshot or {}).get("buyer") or {}
    buyer_vat = vat_number(buyer["vat_id"], buyer.get("country") or "") \
        if buyer.get("vat_id") else None
    categories = {rate: vat_category(rate, merchant.country, buyer.get("country") or "",
                                     buyer_vat) for rate, _ in by_rate}
    if ("K" in categories.values() or "G" in categories.values()) and not seller.get("vat_id"):
        raise ConfigurationError(f"merchant {merchant.id} needs a VAT ID for a tax-free "
                                 f"supply abroad ({invoice.number}): --seller vat_id=…")
    installment = ((source.index + 1, len(source.documents))
                   if len(source.documents) > 1 and invoice.kind == "invoice" else None)
    label = _KIND_LABELS.get(source.record.kind, "Position")
    if installment:
        label = f"Rate {installment[0]} von {installment[1]}, Bestellung {order.order_number}"
    items = place_nets(_items(ledger, order, source), by_rate, label)
    if not any(not item.charge for item in items):  # a document needs a line (BG-25)
        items = [Item(key=i.key, name=i.name, rate=i.rate, quantity=1, weight=i.weight,
                      net=i.net, sku=i.sku) for i in items]
    credited = (ledger.session.get(Invoice, invoice.invoice_id)
                if invoice.kind == "credit_note" and invoice.invoice_id else None)
    notes = []
    if installment:
        notes.append(f"Rate {installment[0]} von {installment[1]} zur Bestellung "
                     f"{order.order_number}.")
    if credited is not None:
        notes.append(f"Gutschrift zur Rechnung {credited.number} vom "
                     f"{credited.issued_on:%d.%m.%Y}.")
    if credited is None:
        reference = invoice.creditor_reference or invoice.payment_reference
        due: date | None = invoice.due_on or invoice.issued_on
        plan = f"Rate {installment[0]} von {installment[1]}: " if installment else ""
        terms = (f"{plan}Zahlbar ohne Abzug bis {due:%d.%m.%Y} per Überweisung "
                 f"mit Verwendungszweck {reference}.")
    else:
        reference = credited.creditor_reference or credited.payment_reference
        due = None
        terms = (f"Wird mit Rechnung {credited.number} verrechnet; ein bereits "
                 "gezahlter Betrag wird erstattet.")
    return Figures(
        invoice=invoice, order=order, merchant=merchant, seller=seller, buyer=buyer,
        buyer_name=_company(buyer), buyer_vat=buyer_vat,
        buyer_reference=buyer.get("buyer_reference") or order.order_number,
        credited=credited, installment=installment,
        delivery_date=(credited or invoice).issued_on, by_rate=by_rate,
        categories=categories, lines=tuple(i for i in items if not i.charge),
        charges=tuple(i for i in items if i.charge), notes=tuple(notes),
        payment_reference=reference, due_on=due, terms=terms)


def line_price(item: Item, currency: str) -> tuple[Decimal, int | None]:
    """A line's net price (BT-146) and, where the quantity does not divide the line amount
    into whole cents, the base quantity (BT-149) it is the price of: price x quantity is
    the line amount exactly."""
    net = _money(item.net, currency)
    if item.net % item.quantity == 0:
        return net / item.quantity, None
    return net, item.quantity


def exemption(category: str) -> tuple[str, str] | None:
    """The VAT exemption reason (BT-120) and its code (BT-121) of a category, if any."""
    return _EXEMPTIONS.get(category)


def document_xml(ledger: Ledger, invoice: Invoice) -> bytes:
    """The CII XML (XRechnung 3.0) of a local-provider invoice (type 380) or credit note
    (381, with its invoice as preceding invoice BG-3), as UTF-8 bytes.

    Raises :class:`ConfigurationError` when the merchant lacks seller details the document
    needs, :class:`NotFound` when the ledger has no operation behind the document.
    """
    return figures_xml(document_figures(ledger, invoice))


def figures_xml(figures: Figures) -> bytes:
    """The CII XML of a document's :class:`Figures`."""
    invoice = figures.invoice
    doc = Document()
    _header(doc, figures)
    _parties(doc, figures)
    doc.trade.delivery.event.occurrence = figures.delivery_date
    _settlement(doc, figures)
    currency = invoice.currency
    for n, item in enumerate(figures.lines, start=1):
        doc.trade.items.add(_line(n, item, figures.categories[item.rate], currency))
    for item in figures.charges:
        doc.trade.settlement.allowance_charge.add(
            _charge(item, figures.categories[item.rate], currency))
    for rate, amount in figures.by_rate:
        doc.trade.settlement.trade_tax.add(
            _breakdown(rate, amount, figures.categories[rate], currency))
    _totals(doc, figures)
    return doc.serialize(schema=_SCHEMA)


# -- where a document comes from --------------------------------------------------------------


def _part_keys(key: str, count: int) -> list[str]:
    """The idempotency keys of the documents one operation makes."""
    return [document_key(key, n) for n in range(count)]


def _source(ledger: Ledger, order: Order, invoice: Invoice) -> _Source:
    documents = list(ledger.session.scalars(select(Invoice).where(
        Invoice.order_id == order.id, Invoice.kind == invoice.kind).order_by(Invoice.id)))
    by_key = {d.idempotency_key: d for d in documents}
    for record in ledger.operations_of(order):
        keys = _part_keys(record.idempotency_key, len(documents))
        if invoice.idempotency_key in keys:
            mine = [by_key[k] for k in keys if k in by_key]
            return _Source(record, mine, mine.index(invoice))
    raise NotFound(f"no operation of order {order.order_number} made {invoice.number}")


def document_rates(ledger: Ledger, invoice: Invoice) -> tuple[_Source, RateAmounts]:
    """The operation behind a document and the document's amounts per tax rate: the
    operation's (the ledger's ``by_rate``), or its share of them when the operation made
    several documents (installments share in proportion; credit notes against several
    invoices by what each credited invoice has of each rate)."""
    order = ledger.session.get(Order, invoice.order_id)
    if order is None:
        raise NotFound(f"order {invoice.order_id} of document {invoice.number} is gone")
    source = _source(ledger, order, invoice)
    weights = None
    if invoice.kind == "credit_note" and len(source.documents) > 1:
        weights = []
        for note in source.documents:
            credited = ledger.session.get(Invoice, note.invoice_id) if note.invoice_id else None
            weights.append(dict(document_rates(ledger, credited)[1])
                           if credited is not None else None)
    by_rate = split_by_rate(rates_from_json(source.record.by_rate or []),
                            [(d.gross, d.tax) for d in source.documents], weights)[source.index]
    if total_of(by_rate) != Amount(invoice.gross, invoice.net, invoice.tax):
        raise NotFound(f"the operation behind {invoice.number} does not add up to it")
    return source, by_rate


def _items(ledger: Ledger, order: Order, source: _Source) -> list[Item]:
    """The operation's lines as document items (articles as lines, shipping and fees as
    charges); a document that is one of several (an installment) gets one line per rate."""
    if len(source.documents) > 1:
        return []
    rows = {row.line_id: row for row in ledger.session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id))}
    items = []
    for line in source.record.lines or ():
        row = rows.get(line["line_id"])
        if row is None:
            continue
        charge = row.kind != "product"
        quantity = line["quantity"] if line["quantity"] > 0 else 1
        items.append(Item(key=row.line_id, name=row.name, rate=Decimal(row.tax_rate),
                          quantity=quantity, weight=line["amount"], charge=charge,
                          sku=row.sku))
    return items


# -- the parts of the document ------------------------------------------------------------------


def _money(minor: int, currency: str) -> Decimal:
    return to_decimal(minor, currency)


def _rate(rate: Decimal) -> Decimal:
    return rate.quantize(Decimal("0.01"))


def _header(doc: Document, figures: Figures) -> None:
    invoice = figures.invoice
    doc.context.business_parameter.id = BUSINESS_PROCESS
    doc.context.guideline_parameter.id = XRECHNUNG_3
    doc.header.id = invoice.number
    doc.header.type_code = "381" if invoice.kind == "credit_note" else "380"
    doc.header.issue_date_time = invoice.issued_on
    for text in figures.notes:
        note = IncludedNote()
        note.content = text
        doc.header.notes.add(note)


def _company(buyer: dict[str, Any]) -> str:
    company, form = (buyer.get("company") or "").strip(), (buyer.get("legal_form") or "").strip()
    if form and not company.endswith(form):
        return f"{company} {form}"
    return company or " ".join(p for p in (buyer.get("first_name"), buyer.get("last_name")) if p)


def _parties(doc: Document, figures: Figures) -> None:
    merchant, seller, buyer = figures.merchant, figures.seller, figures.buyer
    agreement = doc.trade.agreement
    agreement.buyer_reference = figures.buyer_reference
    party = agreement.seller
    party.name = merchant.name
    if seller.get("register"):
        party.legal_organization.id = seller["register"]
    party.contact.person_name = seller["contact_name"]
    party.contact.telephone.number = seller["phone"]
    party.contact.email.address = seller["email"]
    party.address.postcode = seller["postcode"]
    party.address.line_one = seller["street"]
    if seller.get("address_2"):
        party.address.line_two = seller["address_2"]
    party.address.city_name = seller["city"]
    party.address.country_id = merchant.country
    party.electronic_address.uri_ID = ("EM", seller.get("electronic_address") or seller["email"])
    if seller.get("vat_id"):
        party.tax_registrations.add(TaxRegistration(id=("VA", seller["vat_id"])))
    if seller.get("tax_number"):
        party.tax_registrations.add(TaxRegistration(id=("FC", seller["tax_number"])))

    party = agreement.buyer
    party.name = doc.trade.delivery.ship_to.name = figures.buyer_name
    person = " ".join(p for p in (buyer.get("first_name"), buyer.get("last_name")) if p)
    if person:
        party.contact.person_name = person
    if buyer.get("phone"):
        party.contact.telephone.number = buyer["phone"]
    party.contact.email.address = buyer["email"]
    for target in (party.address, doc.trade.delivery.ship_to.address):
        target.postcode = buyer["postcode"]
        target.line_one = buyer["street"]
        if buyer.get("address_2"):
            target.line_two = buyer["address_2"]
        target.city_name = buyer["city"]
        target.country_id = buyer["country"]
    party.electronic_address.uri_ID = ("EM", buyer["email"])
    if figures.buyer_vat:
        party.tax_registrations.add(TaxRegistration(id=("VA", figures.buyer_vat)))
    agreement.seller_order.issuer_assigned_id = figures.order.order_number


def _settlement(doc: Document, figures: Figures) -> None:
    """Currency, payment instructions (BG-16) and terms (BT-20, BT-9). The money goes to
    the collection account; when its holder is not the seller (``merchants add
    --account-holder``), the holder is the payee (BG-10, BT-59)."""
    invoice, credited = figures.invoice, figures.credited
    settlement = doc.trade.settlement
    settlement.currency_code = invoice.currency
    settlement.payment_reference = figures.payment_reference
    means = PaymentMeans()
    terms = PaymentTerms()
    terms.description = figures.terms
    if credited is None:
        means.type_code = "58"  # SEPA credit transfer to the buyer's virtual IBAN
        means.payee_account.iban = invoice.iban
        means.payee_account.account_name = figures.merchant.account_holder
        if figures.merchant.account_holder.strip() != figures.merchant.name.strip():
            settlement.payee.name = figures.merchant.account_holder
        if invoice.bic:
            means.payee_institution.bic = invoice.bic
        terms.due = figures.due_on
    else:
        means.type_code = "97"  # clearing between partners: set off against the invoice
        settlement.invoice_referenced_document.issuer_assigned_id = credited.number
        settlement.invoice_referenced_document.issue_date_time = credited.issued_on
    settlement.payment_means.add(means)
    settlement.terms.add(terms)


def _tax(target: Any, rate: Decimal, category: str) -> None:
    target.type_code = "VAT"
    target.category_code = category
    target.rate_applicable_percent = _rate(rate)


def _line(n: int, item: Item, category: str, currency: str) -> LineItem:
    line = LineItem()
    line.document.line_id = str(n)
    line.product.name = item.name
    if item.sku:
        line.product.seller_assigned_id = item.sku
    unit = "H87" if item.sku else "C62"
    net = _money(item.net, currency)
    price, basis = line_price(item, currency)  # an exact unit price, or that of them all
    line.agreement.net.amount = price
    if basis is not None:
        line.agreement.net.basis_quantity = (Decimal(basis), unit)
    line.delivery.billed_quantity = (Decimal(item.quantity), unit)
    _tax(line.settlement.trade_tax, item.rate, category)
    line.settlement.monetary_summation.total_amount = net
    return line


def _charge(item: Item, category: str, currency: str) -> AllowanceCharge:
    """Shipping or a fee as a document-level charge (BG-21); a negative fee as an
    allowance (BG-20)."""
    charge = AllowanceCharge()
    charge.indicator = item.net >= 0
    charge.actual_amount = _money(abs(item.net), currency)
    charge.reason = item.name
    tax = CategoryTradeTax()
    _tax(tax, item.rate, category)
    charge.trade_tax.add(tax)
    return charge


def _breakdown(rate: Decimal, amount: Amount, category: str,
               currency: str) -> ApplicableTradeTax:
    tax = ApplicableTradeTax()
    tax.calculated_amount = _money(amount.tax, currency)
    tax.basis_amount = _money(amount.net, currency)
    _tax(tax, rate, category)
    if category in _EXEMPTIONS:
        tax.exemption_reason, tax.exemption_reason_code = _EXEMPTIONS[category]
    return tax


def _totals(doc: Document, figures: Figures) -> None:
    """BG-22: line sum (BT-106), charges and allowances, net (BT-109), VAT (BT-110), gross
    (BT-112) and the amount due (BT-115), each the ledger's."""
    invoice, currency = figures.invoice, figures.invoice.currency
    total = doc.trade.settlement.monetary_summation
    total.line_total = _money(figures.line_total, currency)
    total.charge_total = _money(figures.charge_total, currency)
    total.allowance_total = _money(figures.allowance_total, currency)
    total.tax_basis_total = _money(invoice.net, currency)
    total.tax_total = (_money(invoice.tax, currency), currency)
    total.grand_total = _money(invoice.gross, currency)
    total.due_amount = _money(invoice.gross, currency)


def issued_documents(ledger: Ledger, order: Order) -> list[Invoice]:
    """The order's invoices and credit notes, oldest first."""
    return list(ledger.session.scalars(select(Invoice).where(Invoice.order_id == order.id)
                                       .order_by(Invoice.id)))
