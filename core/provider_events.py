"""What a remote provider's reported event means for its order, beyond the journal entry
:func:`core.execute.record_provider_event` writes for every event:

* ``payment`` (the buyer paid the provider, ``amount`` the sum paid so far) and ``paid_out``
  (the provider paid the merchant for an invoice, or for the whole order) book the payment
  (:mod:`core.payments.remote`): the invoice is paid, and the shop hears ``paid``;
* ``dispute`` marks the order disputed and tells the merchant what to pause (``disputed``);
* ``clawback``, ``dca`` and ``late`` are told to the merchant as a note (``reported``);
* ``cancelled`` on an order with invoices credits what the provider cancelled on them
  (:func:`cancelled_invoices`), besides the part not yet invoiced;
* every other event is only journalled (and shown with the order's events).

The event may name the invoice it concerns (``invoice_reference``) and what is still open
(``open_amount``); provider plugins map their own event names to these kinds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from core.context import ProviderEvent
from core.ledger.models import Order
from core.ledger.store import Ledger
from core.money import Amount, allocate, money_text
from core.operations import Operation, OperationKind, total_of
from core.payments.remote import book_reported_payment, paid_of, remote_values
from core.state import OrderState
from core.writeback.outbox import queue_writeback

__all__ = ["DISPUTED", "NOTES", "apply_reported", "cancelled_invoices", "disputed",
           "event_key"]

DISPUTED = "provider_dispute"  # the journal kind that marks an order disputed
NOTES: Mapping[str, str] = {
    "dispute": ("{provider} reports that the buyer disputes {invoice}. {provider} pauses "
                "its dunning while the dispute is open: check the buyer's complaint, answer "
                "{provider}, and hold further deliveries and reminders to this buyer until it "
                "is settled."),
    "clawback": ("{provider} reports that the buyer took back a direct debit payment"
                 "{amount} for {invoice}; {provider} collects it again, nothing to do unless "
                 "{provider} asks."),
    "dca": ("{provider} handed {invoice} over to a debt collection agency{open}. Stop "
            "further deliveries on account to this buyer."),
    "late": ("{provider} reports {invoice} overdue{open}; {provider} reminds the buyer."),
}


def event_key(event: ProviderEvent) -> str:
    """The event's idempotency key (as :func:`core.execute.record_provider_event` keys its
    journal entry)."""
    return hashlib.sha256(f"{event.provider}:{event.event_id}".encode()).hexdigest()


def disputed(ledger: Ledger, order: Order) -> bool:
    """Whether the provider reported a dispute on the order."""
    return any(m.kind == DISPUTED for m in ledger.movements_of(order))


def apply_reported(ledger: Ledger, order: Order, event: ProviderEvent) -> str | None:
    """Give ``event`` its meaning for ``order`` (already journalled), once per event; say
    what was done, or ``None`` when the journal entry is all it means."""
    key = event_key(event)
    invoice = event.invoice_reference
    if event.kind in ("payment", "paid_out"):
        total = event.amount
        open_amount = event.open_amount
        if event.kind == "paid_out":
            total = _invoice_total(ledger, order, invoice)
        elif total is None and open_amount is not None:
            total = _invoice_total(ledger, order, invoice) - open_amount
        elif total is None:
            return f"{event.kind} without an amount: journalled"
        booked = book_reported_payment(
            ledger, order, paid_total=total, invoice_reference=invoice,
            booked_on=event.occurred_at, key=key, provider=event.provider,
            what=event.name or event.kind)
        return f"{event.kind}: {money_text(booked, order.currency)} booked as paid"
    template = NOTES.get(event.kind)
    if template is None:
        return None
    open_amount = event.open_amount
    note = template.format(
        provider=event.provider.capitalize(),
        invoice=f"invoice {_invoice_number(ledger, order, invoice)}" if invoice
        else f"order {order.order_number}",
        amount=f" of {money_text(event.amount, order.currency)}" if event.amount else "",
        open=f" ({money_text(open_amount, order.currency)} open)" if open_amount else "")
    writeback = "disputed" if event.kind == "dispute" else "reported"
    queue_writeback(ledger, order, writeback, note, remote_values(ledger, order),
                    key=f"{key}:{writeback}")
    return f"{event.kind}: the merchant is told"


def cancelled_invoices(ledger: Ledger, order: Order, state: OrderState, key: str,
                       source: str) -> Operation | None:
    """The credit of what a provider cancelled on the order's invoices (it cancels shipped
    orders too, and takes its pay-out back): everything invoiced and not credited or
    reported paid, per tax rate as invoiced; ``None`` when nothing is left on them. Recorded
    as an operation the provider made already (never sent to it), keyed by ``key`` (the
    event's) so that a redelivery finds it done."""
    invoiced = state.invoiced_by_rate
    open_gross = sum(amount.gross for _, amount in invoiced)
    take = open_gross - min(paid_of(ledger, order), open_gross)
    if take <= 0 or not state.status.is_open:
        return None
    if take < open_gross:
        weights = [amount.gross for _, amount in invoiced]
        grosses = allocate(take, weights)
        taxes = allocate(sum(a.tax for _, a in invoiced) * take // open_gross, weights)
        invoiced = tuple((rate, Amount(gross, gross - tax, tax))
                         for (rate, _), gross, tax in zip(invoiced, grosses, taxes, strict=True)
                         if gross)
    return Operation(kind=OperationKind.FULL_CREDIT, amount=total_of(invoiced),
                     by_rate=invoiced, source=source,
                     idempotency_key=hashlib.sha256(f"{key}:invoices".encode()).hexdigest(),
                     after_activation=True)


def _invoice_total(ledger: Ledger, order: Order, invoice: str | None) -> int:
    """What the provider's invoice (the whole order without one) asks in all: its amount as
    activated; the booking caps it at what is open."""
    records = [r for r in ledger.operations_of(order)
               if r.kind == OperationKind.ACTIVATION.value and r.status == "succeeded"]
    if invoice is not None:
        chosen = [r for r in records if r.provider_reference == invoice]
        if chosen:
            return sum(r.gross for r in chosen)
    return sum(r.gross for r in records)


def _invoice_number(ledger: Ledger, order: Order, invoice: str) -> str:
    """The provider's invoice as the merchant knows it: its number, else its reference."""
    for record in ledger.operations_of(order):
        if record.provider_reference == invoice and record.document_number:
            return record.document_number
    return invoice
