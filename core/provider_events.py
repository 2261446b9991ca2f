"""What a remote provider's reported event means for its order, beyond the journal entry
:func:`record_provider_event` writes for every event:

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
from core.errors import RetryableError
from core.hooks import Hooks
from core.ledger.models import Order
from core.ledger.store import Ledger
from core.money import Amount, allocate, money_text
from core.operations import Operation, OperationKind, OperationResult, total_of
from core.order_context import order_context
from core.payments.remote import book_reported_payment, paid_of, remote_values
from core.schemas import load_snapshot
from core.state import OrderState, apply
from core.writeback.outbox import queue_writeback

__all__ = ["DISPUTED", "NOTES", "apply_reported", "cancelled_invoices", "disputed",
           "event_key", "record_provider_event"]

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


def record_provider_event(ledger: Ledger, hooks: Hooks, merchant_id: int,
                          event: ProviderEvent) -> str:
    """Apply a provider's webhook event to its order, once; return what was done.

    Every event is journalled on the order, then given its meaning
    (:func:`apply_reported`: a payment marks the invoice paid, a
    dispute tells the merchant…). ``cancelled`` also cancels what the order still has
    authorised but not invoiced, and what the provider cancelled on its invoices, each
    recorded as a full credit the provider already made (so it is never sent back to the
    provider). While an operation of the order is unfinished (in flight, to be retried, or
    dead) a ``cancelled`` waits (``RetryableError``): it may be the echo of that very
    operation, whose outcome must be known first.
    """
    found = ledger.order_by_provider_reference(merchant_id, event.provider,
                                               event.provider_reference)
    if found is None:
        return f"no order of merchant {merchant_id} has {event.provider} reference " \
               f"{event.provider_reference}; nothing to do"
    order = ledger.lock_order_by_id(found.id)
    unfinished = ledger.unfinished_operations(order)
    if unfinished and event.kind == "cancelled":
        raise RetryableError(f"{event.provider}'s {event.name or event.kind} waits for "
                             f"operation {unfinished[0].id} of the order to finish")
    key = event_key(event)
    ledger.journal(merchant_id=merchant_id, order_id=order.id, kind=f"provider_{event.kind}"[:32],
                   amount=event.amount or 0, currency=order.currency, idempotency_key=key,
                   description=f"{event.provider} reported {event.name or event.kind}",
                   occurred_at=event.occurred_at)
    done = apply_reported(ledger, order, event) or f"{event.kind} journalled"
    if event.kind != "cancelled":
        return done
    state = ledger.state_of(order)
    unbilled = state.unbilled_by_rate
    credits = [Operation(kind=OperationKind.FULL_CREDIT, amount=total_of(unbilled),
                         by_rate=unbilled, idempotency_key=key,
                         source=f"provider:{event.kind}", after_activation=False)
               ] if state.status.is_open and unbilled else []
    applied = [_reported_credit(ledger, hooks, order, op, event) for op in credits]
    on_invoices = cancelled_invoices(
        ledger, order, ledger.state_of(order), key, f"provider:{event.kind}:invoices")
    if on_invoices is not None:
        applied.append(_reported_credit(ledger, hooks, order, on_invoices, event))
    if not credits and on_invoices is None:
        return done
    if not any(applied):
        return f"{event.kind} already applied"
    return f"{event.kind}: what was open is cancelled at {event.provider}"


def _reported_credit(ledger: Ledger, hooks: Hooks, order: Order, op: Operation,
                     event: ProviderEvent) -> bool:
    """Record ``op`` as a credit the provider made already, once; ``True`` if it is new."""
    record = ledger.operation_record(order, op)
    if record.status == "succeeded":
        return False
    record.status, record.attempts = "succeeded", record.attempts + 1
    record.provider_reference = order.provider_reference
    snapshot, state = load_snapshot(order.snapshot), ledger.state_of(order)
    context = order_context(ledger, order, order.connection, snapshot, state)
    ledger.save_state(order, apply(state, op), snapshot)
    hooks.operation_succeeded(context, op, OperationResult(
        provider_reference=order.provider_reference, details={"reported_by": event.provider}),
        ledger)
    return True
