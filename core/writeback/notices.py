"""What each event tells the shop: a note for the merchant and the machine-readable values.

The values describe the order as it stands after the event (provider and its order id, the
invoices, the payment block the buyer pays with, what is open, the order's state); the note
says what happened and, on a failure, what the merchant should do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from core.context import OrderContext
from core.ledger.models import Order
from core.ledger.store import Ledger
from core.money import money_text, to_decimal
from core.operations import Authorisation, Operation, OperationKind, OperationResult, Refusal
from core.payments.block import PaymentBlock, payment_blocks, printed_reference
from core.receivables.balance import Balance, balance_of, remote_balance
from core.state import OrderState, Status, apply, decline
from core.writeback import FIELDS
from core.writeback.girocode import shown_block
from core.writeback.outbox import queue_writeback

__all__ = ["failure_notice", "invoice_number", "invoice_numbers", "operation_notice",
           "order_values", "paid_note", "payment_notice", "refusal_notice", "values_of"]

_CREDITS = {OperationKind.FULL_CREDIT: "Full credit", OperationKind.PARTIAL_CREDIT:
            "Partial credit", OperationKind.DISCOUNT_TRANSFER: "Discount",
            OperationKind.RETURN: "Return"}


def order_values(ledger: Ledger, order: Order, state: OrderState,
                 details: dict[str, object] | None = None) -> dict[str, str]:
    """The order's machine-readable values after an event, as strings; bank details and the
    due date a remote provider reported (``details``) where the ledger has no invoice of its
    own, and a remote provider's order's amounts from its reported payments."""
    blocks, balance, remote = [], None, False
    if state.activated:  # before the first activation there are no invoices to read
        blocks, balance = payment_blocks(ledger, order), balance_of(ledger, order)
        remote = balance is None and (balance := remote_balance(ledger, order)) is not None
    return values_of(order, invoice_numbers(ledger, order), blocks, balance,
                     status=state.status, open_amount=state.open_amount,
                     decline_reason=state.decline_reason,
                     unbilled=state.unbilled if remote else 0, remote=remote, details=details)


def values_of(order: Order, invoices: Sequence[str], blocks: Sequence[PaymentBlock],
              balance: Balance | None, *, status: Status, open_amount: int,
              decline_reason: str | None, unbilled: int = 0, remote: bool = False,
              details: dict[str, object] | None = None) -> dict[str, str]:
    """:func:`order_values` from what was read for it: the order's ``invoices``, payment
    ``blocks`` and ``balance`` (a ``remote`` provider's, whose open amount includes the
    ``unbilled`` part of its authorisation), and of its state the ``status``, the
    ``open_amount`` (used where it has no payment block) and the ``decline_reason``."""
    currency = order.currency
    values = {"provider": order.provider, "state": status.value, "currency": currency}
    if order.provider_reference:
        values["provider_order_id"] = order.provider_reference
    if invoices:
        values["invoice_ids"] = ",".join(invoices)
    for key in ("iban", "bic", "payment_reference", "account_holder", "due_date"):
        if details and details.get(key):
            values[key] = str(details[key])
    if blocks:
        open_amount = sum(block.amount for block in blocks)
        block = shown_block(blocks)
        values.update(iban=block.iban, payment_reference=printed_reference(block),
                      open_amount=str(to_decimal(open_amount, currency)),
                      account_holder=block.account_holder)
        if block.bic:
            values["bic"] = block.bic
        if block.due_on:
            values["due_date"] = block.due_on.isoformat()
        if open_amount == 0 and status is Status.ACTIVE:
            values["state"] = "paid"
    else:
        values["open_amount"] = str(to_decimal(open_amount, currency))
    if balance is not None:
        open_now = balance.open + unbilled
        values.update({f"{name}_amount": str(to_decimal(amount, currency)) for name, amount in (
            ("invoiced", balance.invoiced), ("credited", balance.credited),
            ("paid", balance.paid), ("charges", balance.charges), ("open", open_now))})
        if remote and status is Status.ACTIVE and open_now <= 0:
            values["state"] = "paid"
    if status is Status.DECLINED and decline_reason:
        values["decline_reason"] = decline_reason
    return {key: values[key] for key in FIELDS if key in values}


def paid_note(amount: int, currency: str, booked_on: date, values: Mapping[str, str]) -> str:
    """The note of a payment's write-back, from the values it carries."""
    left = f"{values['open_amount']} {currency}"
    return f"Payment of {money_text(amount, currency)} received on {booked_on.isoformat()}; " \
        + ("paid in full." if values.get("state") == "paid" else f"{left} still open.")


def invoice_numbers(ledger: Ledger, order: Order) -> tuple[str, ...]:
    """The numbers of the order's invoices, oldest first: the provider's invoice numbers
    where it has its own references (Billie's uuids), else those references."""
    return tuple(number for record in ledger.operations_of(order)
                 if (number := invoice_number(record.kind, record.status,
                                              record.document_number,
                                              record.provider_reference)))


def invoice_number(kind: str, status: str, document_number: str | None,
                   provider_reference: str | None) -> str | None:
    """The invoice number an operation record stands for: a succeeded activation's
    document number, else its provider reference; ``None`` for any other record."""
    if kind == OperationKind.ACTIVATION.value and status == "succeeded" \
            and provider_reference:
        return document_number or provider_reference
    return None


def operation_notice(ledger: Ledger, context: OrderContext, operation: Operation,
                     result: OperationResult) -> None:
    """Queue the write-back of an operation that succeeded."""
    order = ledger.session.get(Order, context.order_key)
    assert order is not None
    currency, provider = order.currency, context.provider
    amount = money_text(operation.amount.gross, currency)
    if isinstance(result, Authorisation) and not result.approved:
        reason = result.decline_reason or "declined"
        state = decline(context.state, reason)
        event, note = "declined", (f"Invoice payment declined by {provider} ({reason}). Ask "
                                   "the buyer to pay another way.")
    else:
        state = apply(context.state, operation)
        kind = operation.kind
        if kind is OperationKind.PLACEMENT:
            event = "authorised"
            reference = f" (reference {result.provider_reference})" \
                if result.provider_reference else ""
            note = f"Invoice payment of {amount} authorised by {provider}{reference}."
        elif kind is OperationKind.INCREASE:
            event = "increased"
            total = money_text(operation.order_total_after or 0, currency)
            note = f"Order amount raised by {amount} to {total} at {provider}."
        elif kind is OperationKind.ACTIVATION:
            event = "activated"
            number = f" {result.document_number}" if result.document_number else ""
            note = f"Invoice{number} issued for {amount}."
        else:
            event = "credited"
            what = "credit note " + result.document_number if result.document_number \
                else ("credited" if operation.after_activation else "authorisation lowered")
            note = f"{_CREDITS[kind]} of {amount}: {what}."
    values = order_values(ledger, order, state, result.details)
    if event == "activated" and "payment_reference" in values:
        bic = f" (BIC {values['bic']})" if "bic" in values else ""
        due = f", by {values['due_date']}" if "due_date" in values else ""
        note += (f" The buyer pays {values['open_amount']} {currency} to {values['iban']}"
                 f"{bic}, reference {values['payment_reference']}{due}.")
    queue_writeback(ledger, order, event, note, values,
                    key=f"{operation.idempotency_key}:{event}")


def failure_notice(ledger: Ledger, context: OrderContext, operation: Operation,
                   error: str) -> None:
    """Queue the write-back of an operation that is dead: what failed and what to do."""
    order = ledger.session.get(Order, context.order_key)
    assert order is not None
    attempts = ledger.operation_record(order, operation).attempts
    note = (f"{operation.kind.value.replace('_', ' ').capitalize()} of "
            f"{money_text(operation.amount.gross, order.currency)} failed at {context.provider}: "
            f"{error}. Nothing was changed at {context.provider}. Remove the cause, then "
            f"retry with: invoicekit orders replay {context.shop} {order.shop_order_id}")
    queue_writeback(ledger, order, "failed", note,
                    order_values(ledger, order, context.state),
                    key=f"{operation.idempotency_key}:failed:{attempts}")


def refusal_notice(ledger: Ledger, context: OrderContext, refusal: Refusal) -> None:
    """Queue the write-back of a change the kit would not pass on."""
    order = ledger.session.get(Order, context.order_key)
    assert order is not None
    queue_writeback(ledger, order, "refused", f"Not passed on: {refusal.message}",
                    order_values(ledger, order, context.state),
                    key=f"{order.id}:refused:{refusal.reason}:{refusal.amount}")


def payment_notice(ledger: Ledger, order: Order, amount: int, *, booked_on: date,
                   reversal: bool, key: str) -> None:
    """Queue the write-back of a payment booked on ``order`` (or returned by the bank)."""
    values = order_values(ledger, order, ledger.state_of(order))
    left = f"{values['open_amount']} {order.currency}"
    if reversal:
        event, note = "payment_returned", (f"The bank returned a payment of "
                                           f"{money_text(amount, order.currency)} "
                                           f"({booked_on.isoformat()}); {left} is open again.")
    else:
        event, note = "paid", paid_note(amount, order.currency, booked_on, values)
    queue_writeback(ledger, order, event, note, values, key=f"{key}:{event}:{order.id}")
