"""The kit's operations at Billie, and how to tell from Billie's state whether one happened.

* placement: ``POST orders``; a decline is a 2xx with ``state: declined``;
* activation: ``POST invoices`` for the operation's amount (the shipped units if it names
  lines), invoice number ``<order number>-<n>``;
* before an invoice: a full credit cancels the order (``POST orders/{uuid}/cancel``; on a
  partly invoiced order this drops the rest), any other reduction lowers the order amount
  (``POST orders/{uuid}`` with Billie's current amount less the operation's);
* an increase (while the order is ``created`` or ``partially_shipped``) raises the order
  amount the same way, by the operation's; Billie checks the extra like a new order, and
  a refusal of it is a declined :class:`Authorisation`, the order staying as it was;
* after an invoice: credit notes (``POST invoices/{uuid}/credit-notes``), code
  ``CN-<order number>-<key>``; with several invoices the one with enough open amount is
  credited, or the amount is spread over them (codes ``…-<invoice index>``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from core.context import OrderContext
from core.errors import OutcomeUnknown, PermanentError, RetryableError
from core.money import Amount, allocate
from core.operations import Authorisation, Lookup, Operation, OperationKind, OperationResult
from plugins.billie import checkout, client, payloads
from plugins.billie.client import NotFoundAtBillie
from plugins.billie.settings import BillieSettings, read_settings
from plugins.billie.views import (
    CreditNoteView,
    InvoiceSummary,
    InvoiceView,
    OrderView,
)
from plugins.provider_common import amount_changed, read_answer

__all__ = ["activate", "lookup", "place", "reduce"]

log = logging.getLogger(__name__)
T = TypeVar("T")


# -- helpers ----------------------------------------------------------------------------


def _reference(order: OrderContext) -> str:
    if not order.provider_reference:
        raise PermanentError("the order has no Billie order id: it was never placed at Billie")
    return order.provider_reference


def _read(reader: Callable[[], T], *, posted: bool) -> T:
    """Read an answer; an unreadable one after a write may still have been applied."""
    return read_answer(reader, posted=posted, provider="Billie")


def _get_order(settings: BillieSettings, order_id: str, currency: str) -> OrderView:
    data = client.get(settings, client.path("orders", order_id))
    return _read(lambda: OrderView.read(data, currency), posted=False)


def _get_invoice(settings: BillieSettings, uuid: str, currency: str) -> InvoiceView:
    data = client.get(settings, client.path("invoices", uuid))
    return _read(lambda: InvoiceView.read(data, currency), posted=False)


def _created_uuid(data: object, what: str) -> str:
    uuid = data.get("uuid") if isinstance(data, dict) else None
    if not isinstance(uuid, str) or not uuid:
        raise OutcomeUnknown(f"Billie created the {what} but its answer has no uuid")
    return uuid


# -- placement and activation -----------------------------------------------------------


def place(order: OrderContext, operation: Operation) -> Authorisation:
    """``POST orders`` for the whole order, or the order the buyer confirmed in Billie's
    widget at the checkout (adopted, :func:`plugins.billie.checkout.adopt`); an increase
    raises the order amount."""
    settings = read_settings(order.settings)
    if operation.kind is OperationKind.INCREASE:
        return _raise(settings, order, operation)
    if order.checkout is not None:
        return checkout.adopt(settings, order, operation)
    body = payloads.create_order(order.snapshot, operation, settings.duration_days)
    data = client.post(settings, "orders", body)
    return checkout.authorisation(_read(lambda: OrderView.read(data, order.snapshot.currency),
                                posted=True))


def activate(order: OrderContext, operation: Operation) -> OperationResult:
    """``POST invoices`` for ``operation.amount`` under a derived invoice number."""
    settings = read_settings(order.settings)
    reference = _reference(order)
    number = payloads.invoice_number(order)
    url = payloads.invoice_url(settings.invoice_url, number, order.snapshot.order_number)
    partial = operation.amount.gross < order.state.unbilled
    body = payloads.invoice(reference, number, url, operation, order.snapshot.currency,
                            partial=partial)
    uuid = _created_uuid(client.post(settings, "invoices", body), "invoice")
    return OperationResult(provider_reference=uuid, document_number=number,
                           details={"invoice_url": url})


# -- increases --------------------------------------------------------------------------


def _raise(settings: BillieSettings, order: OrderContext,
           operation: Operation) -> Authorisation:
    """Raise the order amount by the operation's (``POST orders/{uuid}`` with Billie's
    current amount plus it); a repeat finds it raised already. Billie validates the extra
    like a new order and changes nothing if it refuses: a refusal (any 4xx but 404) is the
    increase declined, with Billie's reason."""
    reference, currency = _reference(order), order.snapshot.currency
    view = _get_order(settings, reference, currency)
    if view.amount is None:
        raise RetryableError("Billie's order answer has no amount")
    approved = Authorisation(provider_reference=reference, details={"state": view.state})
    if _changed(order, operation.amount.gross, view.amount.gross):
        log.info("Billie order %s already has the raised amount", reference)
        return approved
    try:
        data = client.post(settings, client.path("orders", reference),
                           payloads.update_order(view.amount + operation.amount, currency))
    except NotFoundAtBillie:
        raise
    except PermanentError as exc:
        return Authorisation(provider_reference=reference, approved=False,
                             decline_reason=str(exc))
    if isinstance(data, dict) and data.get("state") == "declined":
        return Authorisation(provider_reference=reference, approved=False,
                             decline_reason=str(data.get("decline_reason") or "declined"))
    return approved


# -- reductions -------------------------------------------------------------------------


def reduce(order: OrderContext, operation: Operation) -> OperationResult:
    """A full or partial credit, discount transfer or return."""
    settings = read_settings(order.settings)
    if operation.after_activation:
        return _credit(settings, order, operation)
    if operation.kind is OperationKind.FULL_CREDIT or _takes_the_rest(order, operation):
        return _cancel(settings, order)
    return _lower(settings, order, operation)


def _takes_the_rest(order: OrderContext, operation: Operation) -> bool:
    """A reduction of everything not yet invoiced on an order with invoices: Billie's cancel
    drops exactly that rest."""
    return bool(order.invoices) and operation.amount.gross >= order.state.unbilled


def _cancel(settings: BillieSettings, order: OrderContext) -> OperationResult:
    reference = _reference(order)
    client.post(settings, client.path("orders", reference, "cancel"))
    return OperationResult(provider_reference=reference,
                           details={"cancelled": "the rest" if order.invoices else "order"})


def _lowered(order: OrderContext, operation: Operation, current: int) -> bool:
    """Whether Billie's order amount ``current`` is the one before (False) or after (True)
    the reduction; raise when it is neither, or could be either."""
    return _changed(order, -operation.amount.gross, current)


def _changed(order: OrderContext, change: int, current: int) -> bool:
    return amount_changed(order, change, current, provider="Billie")


def _lower(settings: BillieSettings, order: OrderContext,
           operation: Operation) -> OperationResult:
    """Lower the order amount by the operation's; a repeat finds it lowered already."""
    reference, currency = _reference(order), order.snapshot.currency
    view = _get_order(settings, reference, currency)
    current = view.amount
    if current is None:
        raise RetryableError("Billie's order answer has no amount")
    result = OperationResult(provider_reference=reference)
    if _lowered(order, operation, current.gross):
        log.info("Billie order %s already has the lowered amount", reference)
        return result
    target = current - operation.amount
    if target.gross == 0 and not view.invoices:
        return _cancel(settings, order)
    if target.gross < 0 or target.net < 0:
        raise PermanentError("the reduction is larger than the order amount at Billie")
    client.post(settings, client.path("orders", reference),
                payloads.update_order(target, currency))
    return result


def _credit(settings: BillieSettings, order: OrderContext,
            operation: Operation) -> OperationResult:
    """Credit notes against the order's invoices."""
    if not order.invoices:
        raise PermanentError("no Billie invoice is known for this order, so nothing can be "
                             "credited")
    code = payloads.credit_note_code(order, operation)
    currency = order.snapshot.currency
    if len(order.invoices) == 1:
        invoice = order.invoices[0]
        body = payloads.credit_note(code, operation.amount, operation, currency)
        uuid = _created_uuid(client.post(settings, client.path("invoices", invoice,
                                                               "credit-notes"), body),
                             "credit note")
        return OperationResult(provider_reference=uuid, document_number=code,
                               details={"invoices": invoice})
    return _credit_several(settings, order, operation, code)


def _credit_several(settings: BillieSettings, order: OrderContext, operation: Operation,
                    code: str) -> OperationResult:
    """With several invoices: what earlier attempts credited counts, the rest goes to one
    invoice that can hold it, or is spread over the invoices by their open amounts."""
    currency = order.snapshot.currency
    earlier = _ours(settings, order, code, require_listing=False)
    done = _by_invoice(earlier)
    left = operation.amount
    for part in done.values():
        left = left - part
    if left.gross <= 0:
        return _credited_result(code, earlier)
    view = _get_order(settings, _reference(order), currency)
    candidates = [(index, summary) for index, uuid in enumerate(order.invoices, 1)
                  if uuid not in done and (summary := view.invoice(uuid)) is not None
                  and summary.creditable > 0]
    parts = _spread(left, candidates)
    single = len(parts) == 1
    uuids = []
    for index, summary, value in parts:
        body = payloads.credit_note(f"{code}-{index}", value, operation, currency,
                                    with_lines=single)
        uuids.append(_created_uuid(client.post(
            settings, client.path("invoices", summary.uuid, "credit-notes"), body),
            "credit note"))
    return OperationResult(provider_reference=uuids[0], document_number=code,
                           details={"invoices": ",".join([*done, *(p[1].uuid for p in parts)])})


def _spread(value: Amount, candidates: list[tuple[int, InvoiceSummary]]
            ) -> list[tuple[int, InvoiceSummary, Amount]]:
    """One invoice with room for all of ``value`` (the roomiest), else the invoices in order
    of room, each taking what it holds; tax is split in proportion to gross."""
    roomy = [c for c in candidates if c[1].creditable >= value.gross]
    if roomy:
        index, summary = max(roomy, key=lambda c: (c[1].creditable, c[0]))
        return [(index, summary, value)]
    if sum(c[1].creditable for c in candidates) < value.gross:
        raise PermanentError("the open amounts of the order's Billie invoices are less than "
                             "the credit")
    grosses, chosen = [], []
    for index, summary in sorted(candidates, key=lambda c: (-c[1].creditable, c[0])):
        take = min(summary.creditable, value.gross - sum(grosses))
        if take > 0:
            grosses.append(take)
            chosen.append((index, summary))
    taxes = allocate(value.tax, grosses)
    return [(index, summary, Amount(gross, gross - tax, tax))
            for (index, summary), gross, tax in zip(chosen, grosses, taxes, strict=True)]


def _ours(settings: BillieSettings, order: OrderContext, code: str, *,
          require_listing: bool) -> list[tuple[str, CreditNoteView]]:
    """The credit notes this operation made (code ``code`` or ``code-<n>``), with the uuid
    of the invoice each credits."""
    found = []
    for uuid in order.invoices:
        invoice = _get_invoice(settings, uuid, order.snapshot.currency)
        if invoice.credit_notes is None:
            if require_listing:
                raise PermanentError(
                    f"Billie's invoice {uuid} does not list its credit notes: check in "
                    f"Billie's portal whether credit note {code} exists, then retry")
            log.warning("Billie's invoice %s does not list its credit notes", uuid)
            continue
        found.extend((uuid, note) for note in invoice.credit_notes
                     if note.amount is not None and (note.external_code == code or (
                         note.external_code or "").startswith(code + "-")))
    return found


def _by_invoice(notes: list[tuple[str, CreditNoteView]]) -> dict[str, Amount]:
    totals: dict[str, Amount] = {}
    for uuid, note in notes:
        assert note.amount is not None
        totals[uuid] = totals.get(uuid, Amount.zero()) + note.amount
    return totals


# -- lookups ----------------------------------------------------------------------------


def lookup(order: OrderContext, operation: Operation) -> Lookup:
    """Whether ``operation`` took effect at Billie, from Billie's state."""
    settings = read_settings(order.settings)
    currency = order.snapshot.currency
    if operation.kind is OperationKind.PLACEMENT:
        for code in payloads.order_codes(order.snapshot):  # newest first; older without shop
            try:
                view = _get_order(settings, code, currency)
            except NotFoundAtBillie:
                continue
            return Lookup(applied=True, result=checkout.authorisation(view))
        return Lookup(applied=False)
    if not order.provider_reference:
        return Lookup(applied=False)
    if operation.kind is OperationKind.ACTIVATION:
        return _lookup_invoice(settings, order)
    if operation.kind is OperationKind.INCREASE:
        view = _get_order(settings, order.provider_reference, currency)
        if view.amount is None:
            raise RetryableError("Billie's order answer has no amount")
        raised = _changed(order, operation.amount.gross, view.amount.gross)
        return Lookup(applied=raised, result=Authorisation(
            provider_reference=order.provider_reference,
            details={"state": view.state}) if raised else None)
    if operation.after_activation:
        return _lookup_credit(settings, order, operation)
    view = _get_order(settings, order.provider_reference, currency)
    result = OperationResult(provider_reference=order.provider_reference)
    cancelled = view.cancelled or bool(order.invoices and view.nothing_unshipped)
    if operation.kind is OperationKind.FULL_CREDIT or _takes_the_rest(order, operation) \
            or cancelled:
        return Lookup(applied=cancelled, result=result if cancelled else None)
    if view.amount is None:
        raise RetryableError("Billie's order answer has no amount")
    lowered = _lowered(order, operation, view.amount.gross)
    return Lookup(applied=lowered, result=result if lowered else None)


def _lookup_invoice(settings: BillieSettings, order: OrderContext) -> Lookup:
    """The activation's invoice by its number: ``<shop>-<order number>-<n>``, or
    ``<order number>-<n>`` as invoices were numbered before external codes carried the shop."""
    number = payloads.invoice_number(order)
    numbers = (number, f"{order.snapshot.order_number}-{len(order.invoices) + 1}")
    view = _get_order(settings, _reference(order), order.snapshot.currency)
    invoice = next((i for i in view.invoices if i.number in numbers), None)
    if invoice is None:
        return Lookup(applied=False)
    return Lookup(applied=True, result=OperationResult(provider_reference=invoice.uuid,
                                                       document_number=invoice.number))


def _lookup_credit(settings: BillieSettings, order: OrderContext,
                   operation: Operation) -> Lookup:
    code = payloads.credit_note_code(order, operation)
    notes = _ours(settings, order, code, require_listing=True)
    credited = sum(a.gross for a in _by_invoice(notes).values())
    if not notes or credited < operation.amount.gross:
        return Lookup(applied=False)
    return Lookup(applied=True, result=_credited_result(code, notes))


def _credited_result(code: str, notes: list[tuple[str, CreditNoteView]]) -> OperationResult:
    return OperationResult(provider_reference=notes[0][1].uuid if notes else None,
                           document_number=code,
                           details={"invoices": ",".join(dict.fromkeys(u for u, _ in notes))})
