"""Hook implementations of the local provider: authorisation, invoices, credit notes, journal.

Every hook answers only for orders whose provider is ``local`` and is idempotent: an
operation whose key already produced a document or movement returns what it produced.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from stdnum import iso11649

from core import hookimpl
from core.context import Eligibility, OrderContext, ProviderInfo
from core.errors import ConfigurationError, PermanentError
from core.ledger.models import Invoice, Order
from core.ledger.store import Ledger
from core.local_provider.banking import buyer_account, creditor_reference, payment_reference
from core.local_provider.fees import charge_fee
from core.money import allocate
from core.operations import (
    Authorisation,
    Operation,
    OperationKind,
    OperationResult,
    document_key,
)
from core.payments.block import payment_blocks, to_json
from core.receivables.book import apply_credit, open_receivable

NAME = "local"
MAX_REFERENCE_LENGTH = 35  # SEPA remittance and EPC QR limit of BP<order>/<merchant>


def _mine(order: OrderContext) -> bool:
    return order.provider == NAME


def _journal(ledger: Ledger, order: OrderContext, operation: Operation, kind: str, amount: int,
             description: str, document_number: str | None = None, *,
             key: str | None = None) -> None:
    """One movement of the order, under the operation's key (or ``key``, for the parts of
    an operation that makes several documents)."""
    ledger.journal(merchant_id=order.merchant_id, order_id=order.order_key, kind=kind,
                   amount=amount, currency=order.snapshot.currency,
                   idempotency_key=key or operation.idempotency_key, description=description,
                   document_number=document_number)


def _document(ledger: Ledger, operation: Operation) -> Invoice | None:
    return ledger.session.scalars(select(Invoice).where(
        Invoice.idempotency_key == operation.idempotency_key)).one_or_none()


def _invoices_for(ledger: Ledger, order: OrderContext,
                  gross: int) -> list[tuple[Invoice, int, int | None]]:
    """The invoices a credit of ``gross`` goes against, with the gross each takes and, when
    it takes all that is open, the tax still open on it: the newest of the order's invoices
    whose gross less its credit notes covers it all; if none does, the invoices newest
    first, each taking what it has open (each partial activation has an invoice of its
    own)."""
    invoices = ledger.session.scalars(select(Invoice).where(
        Invoice.order_id == order.order_key, Invoice.kind == "invoice")
        .order_by(Invoice.id.desc())).all()
    if not invoices:
        raise PermanentError(f"order {order.order_key} has no invoice to credit")
    # sums as int: PostgreSQL sums bigints as numeric
    credited = {row.invoice_id: (int(row.gross), int(row.tax)) for row in ledger.session.execute(
        select(Invoice.invoice_id, func.sum(Invoice.gross).label("gross"),
               func.sum(Invoice.tax).label("tax"))
        .where(Invoice.order_id == order.order_key, Invoice.kind == "credit_note")
        .group_by(Invoice.invoice_id))}
    open_of = {}
    for invoice in invoices:
        done_gross, done_tax = credited.get(invoice.id, (0, 0))
        open_of[invoice.id] = (invoice.gross - done_gross, invoice.tax - done_tax)
    whole = next((i for i in invoices if open_of[i.id][0] >= gross), None)
    if whole is not None:
        return [(whole, gross, None)]
    parts: list[tuple[Invoice, int, int | None]] = []
    left = gross
    for invoice in invoices:
        open_gross, open_tax = open_of[invoice.id]
        take = min(open_gross, left)
        if take > 0:
            parts.append((invoice, take, open_tax if take == open_gross else None))
            left -= take
    if left > 0:
        raise PermanentError(f"the credit exceeds what the invoices of order "
                             f"{order.order_key} have open")
    return parts


def _next_number(ledger: Ledger, merchant_id: int, kind: str) -> str:
    """The next number of the merchant's invoice or credit-note series, without gaps."""
    merchant = ledger.merchant(merchant_id, for_update=True)
    if kind == "invoice":
        number, merchant.next_invoice = merchant.next_invoice, merchant.next_invoice + 1
        return f"{merchant.invoice_prefix}{number:06d}"
    number, merchant.next_credit_note = merchant.next_credit_note, merchant.next_credit_note + 1
    return f"CN-{number:06d}"


def _result(document: Invoice) -> OperationResult:
    details = {"payment_reference": document.payment_reference, "iban": document.iban}
    if document.due_on is not None:
        details["due_on"] = document.due_on.isoformat()
    return OperationResult(provider_reference=document.number, document_number=document.number,
                           details=details)


def _credit_note(ledger: Ledger, order: OrderContext, operation: Operation,
                 description: str) -> OperationResult:
    """Credit notes against the order's invoices (one, or one per invoice when no invoice
    has enough open), each journalled as a negative movement."""
    existing = _document(ledger, operation)
    if existing is not None:
        return _result(existing)
    parts = _invoices_for(ledger, order, operation.amount.gross)
    # a part that takes an invoice's whole open amount takes its open tax; the others, and
    # always the last, share the rest of the operation's tax by gross
    parts[-1] = (parts[-1][0], parts[-1][1], None)
    fixed = sum(tax for _, _, tax in parts if tax is not None)
    shared = iter(allocate(operation.amount.tax - fixed,
                           [gross for _, gross, tax in parts if tax is None]))
    taxes = [tax if tax is not None else next(shared) for _, _, tax in parts]
    notes = []
    for n, ((invoice, gross, _), tax) in enumerate(zip(parts, taxes, strict=True)):
        key = document_key(operation.idempotency_key, n)
        note = Invoice(
            merchant_id=order.merchant_id, order_id=order.order_key, idempotency_key=key,
            kind="credit_note", number=_next_number(ledger, order.merchant_id, "credit_note"),
            issued_on=datetime.now(UTC).date(), due_on=None, currency=invoice.currency,
            gross=gross, net=gross - tax, tax=tax,
            payment_reference=invoice.payment_reference, iban=invoice.iban, bic=invoice.bic,
            invoice_id=invoice.id,
        )
        ledger.session.add(note)
        ledger.session.flush()
        apply_credit(ledger, invoice.id, gross, key=key)
        _journal(ledger, order, operation, "credit_note", -gross,
                 f"{description} against {invoice.number}", note.number, key=key)
        charge_fee(ledger, ledger.merchant(order.merchant_id), order.order_key, key=key,
                   document_number=note.number, currency=note.currency)
        notes.append(note)
    return _result(notes[0])


def _reduce(ledger: Ledger, order: OrderContext, operation: Operation,
            description: str) -> OperationResult:
    """A credit note against an invoice (``after_activation``), else a lowering of the
    authorisation not yet invoiced (a void when it cancels all of it), also on an order that
    is partly invoiced already."""
    if operation.after_activation:
        return _credit_note(ledger, order, operation, description)
    kind = "void" if operation.kind is OperationKind.FULL_CREDIT else "authorisation_reduced"
    _journal(ledger, order, operation, kind, -operation.amount.gross, description)
    return OperationResult(provider_reference=order.provider_reference)


@hookimpl
def declare_provider() -> ProviderInfo:
    # increases of an order or invoice are refused (BillPay's rules): no ``increases``
    return ProviderInfo(name=NAME, operations=frozenset(OperationKind) - {OperationKind.INCREASE},
                        remote=False, increases=False)


@hookimpl
def place_order(order: OrderContext, operation: Operation, ledger: Ledger,
                eligibility: Eligibility | None) -> Authorisation | None:
    """Follow the kit's eligibility decision; the order number must also fit the
    payment reference."""
    if not _mine(order):
        return None
    if eligibility is None:
        raise ConfigurationError("the local provider needs the kit's eligibility decision")
    reasons = list(eligibility.reasons)
    if len(payment_reference(order.snapshot.order_number, order.merchant_id)) > \
            MAX_REFERENCE_LENGTH:
        reasons.append("order_number_too_long")
    if reasons:
        _journal(ledger, order, operation, "declined", 0, f"declined: {', '.join(reasons)}")
        return Authorisation(approved=False, decline_reason=reasons[0])
    reference = payment_reference(order.snapshot.order_number, order.merchant_id)
    _journal(ledger, order, operation, "authorisation", operation.amount.gross,
             f"authorised {reference}")
    # where the buyer will pay is known now, for the shop's invoice (write-back)
    merchant = ledger.merchant(order.merchant_id)
    account = buyer_account(ledger, order.merchant_id, order.snapshot.buyer)
    ledger.session.get(Order, order.order_key).buyer_id = account.id
    rf = creditor_reference(order.order_key) if merchant.rf_references else None
    bank = {"iban": account.virtual_iban, "bic": merchant.bic,
            "payment_reference": iso11649.format(rf) if rf else reference}
    return Authorisation(approved=True, provider_reference=reference,
                         details={k: v for k, v in bank.items() if v})


@hookimpl
def activate_order(order: OrderContext, operation: Operation,
                   ledger: Ledger) -> OperationResult | None:
    if not _mine(order):
        return None
    existing = _document(ledger, operation)
    if existing is not None:
        return _result(existing)
    merchant = ledger.merchant(order.merchant_id)
    account = buyer_account(ledger, order.merchant_id, order.snapshot.buyer)
    record = ledger.session.get(Order, order.order_key)
    record.buyer_id = account.id
    issued = datetime.now(UTC).date()
    placed = order.snapshot.placed_at or record.created_at
    term, interval = timedelta(days=merchant.payment_term_days), \
        timedelta(days=merchant.installment_interval_days)
    # installments split the whole order, when it is invoiced at once; an order shipped
    # in parts gets one invoice per shipment
    whole = not order.invoices and operation.amount.gross == order.state.unbilled
    count = order.snapshot.installments if whole else 1
    grosses = allocate(operation.amount.gross, [1] * count)
    taxes = allocate(operation.amount.tax, grosses)
    reference = payment_reference(order.snapshot.order_number, merchant.id)
    rf = creditor_reference(order.order_key) if merchant.rf_references else None
    invoices = []
    for n, (gross, tax) in enumerate(zip(grosses, taxes, strict=True)):
        key = document_key(operation.idempotency_key, n)
        invoice = Invoice(
            merchant_id=merchant.id, order_id=order.order_key, idempotency_key=key,
            kind="invoice", number=_next_number(ledger, merchant.id, "invoice"),
            issued_on=issued, due_on=issued + term + n * interval,
            currency=order.snapshot.currency, gross=gross, net=gross - tax, tax=tax,
            payment_reference=reference, creditor_reference=rf,
            iban=account.virtual_iban, bic=merchant.bic,
        )
        ledger.session.add(invoice)
        ledger.session.flush()
        plan = f" (installment {n + 1} of {count})" if count > 1 else ""
        _journal(ledger, order, operation, "invoice", gross,
                 f"invoice {invoice.number} due {invoice.due_on.isoformat()}{plan}",
                 invoice.number, key=key)
        charge_fee(ledger, merchant, order.order_key, key=key,
                   document_number=invoice.number, currency=invoice.currency)
        open_receivable(ledger, invoice, purchased_on=placed.date(),
                        installment=n + 1 if count > 1 else None,
                        installments=count if count > 1 else None, period=n * interval)
        invoices.append(invoice)
    result = _result(invoices[0])
    # what the buyer pays from, for observers writing it back to the shop
    result.details["payment_blocks"] = [to_json(b) for b in payment_blocks(ledger, record)]
    return result


@hookimpl
def credit_full(order: OrderContext, operation: Operation,
                ledger: Ledger) -> OperationResult | None:
    if not _mine(order):
        return None
    return _reduce(ledger, order, operation, "full credit")


@hookimpl
def credit_partial(order: OrderContext, operation: Operation,
                   ledger: Ledger) -> OperationResult | None:
    if not _mine(order):
        return None
    return _reduce(ledger, order, operation, f"partial credit ({operation.source})")


@hookimpl
def transfer_discount(order: OrderContext, operation: Operation,
                      ledger: Ledger) -> OperationResult | None:
    if not _mine(order):
        return None
    return _reduce(ledger, order, operation, "discount transfer")


@hookimpl
def handle_return(order: OrderContext, operation: Operation,
                  ledger: Ledger) -> OperationResult | None:
    if not _mine(order):
        return None
    lines = ", ".join(f"{ol.quantity} x {ol.line_id}" for ol in operation.lines)
    return _reduce(ledger, order, operation, f"return of {lines}")
