"""The kit's operations at Mondu, and how to tell from Mondu's state whether one happened.

* placement: ``POST orders`` (``external_reference_id`` ``<shop>/<order number>``); an
  ``authorized`` answer is confirmed at once (``POST orders/{uuid}/confirm``); a decline is a
  2xx with ``state: declined``;
* activation: ``POST orders/{uuid}/invoices`` for the operation's amount (the shipped units
  if it names lines), invoice number ``<order number>-<n>``;
* before an invoice: a full credit of an order without invoices cancels it
  (``POST orders/{uuid}/cancel``); any other reduction, also of the rest of a partly
  invoiced order, lowers the order amount (``POST orders/{uuid}/adjust`` with Mondu's
  current amount less the operation's);
* after an invoice: credit notes (``POST invoices/{uuid}/credit_notes``), reference
  ``CN-<order number>-<key>``; with several invoices the one with room for all of it is
  credited, or the amount is spread over them (references ``…-<invoice index>``).

Mondu documents no idempotency keys, so every call whose outcome is unknown is looked up
(:func:`lookup`) before the kit repeats it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from core.context import OrderContext
from core.errors import PermanentError, RetryableError
from core.money import Amount, allocate
from core.operations import (
    Authorisation,
    Lookup,
    Operation,
    OperationKind,
    OperationResult,
    total_of,
)
from plugins.mondu import client, payloads
from plugins.mondu.settings import MonduSettings, read_settings
from plugins.mondu.views import (
    InvoiceView,
    OrderView,
    created_uuid,
    credit_amount,
    invoices_of,
)
from plugins.provider_common import amount_changed, read_answer

__all__ = ["activate", "lookup", "place", "reduce"]

log = logging.getLogger(__name__)
T = TypeVar("T")
AUTHORIZED = "authorized"


# -- helpers ----------------------------------------------------------------------------


def _reference(order: OrderContext) -> str:
    if not order.provider_reference:
        raise PermanentError("the order has no Mondu order uuid: it was never placed at Mondu")
    return order.provider_reference


def _read(reader: Callable[[], T], *, posted: bool) -> T:
    """Read an answer; an unreadable one after a write may still have been applied."""
    return read_answer(reader, posted=posted, provider="Mondu")


def _get_order(settings: MonduSettings, uuid: str) -> OrderView:
    data = client.get(settings, client.path("orders", uuid))
    return _read(lambda: OrderView.read(data), posted=False)


def _get_invoices(settings: MonduSettings, order: OrderContext) -> tuple[InvoiceView, ...]:
    data = client.get(settings, client.path("orders", _reference(order), "invoices"))
    return _read(lambda: invoices_of(data), posted=False)


# -- placement and activation -----------------------------------------------------------


def place(order: OrderContext, operation: Operation) -> Authorisation:
    """``POST orders`` for the whole order, then its state adopted."""
    settings = read_settings(order.settings)
    body = payloads.create_order(order, operation, settings.net_term, settings.payment_method)
    data = client.post(settings, "orders", body)
    return _adopt(settings, order, _read(lambda: OrderView.read(data), posted=True))


def _adopt(settings: MonduSettings, order: OrderContext, view: OrderView) -> Authorisation:
    """The placement's result from Mondu's order: an ``authorized`` order is confirmed first
    (Mondu's Confirm Order; its invoices need a confirmed order); ``pending`` (manual review,
    ``order/confirmed`` or ``order/declined`` follows by webhook) counts as authorised."""
    details = dict(view.details)
    if view.state == AUTHORIZED:
        data = client.post(settings, client.path("orders", view.uuid, "confirm"),
                           payloads.confirm(order))
        confirmed = _read(lambda: OrderView.read(data), posted=True)
        details["state"] = confirmed.state
        view = confirmed
    if view.declined:
        return Authorisation(provider_reference=view.uuid, approved=False,
                             decline_reason=view.decline_reason or "declined", details=details)
    return Authorisation(provider_reference=view.uuid, details=details)


def activate(order: OrderContext, operation: Operation) -> OperationResult:
    """``POST orders/{uuid}/invoices`` for ``operation.amount`` under a derived number."""
    settings = read_settings(order.settings)
    reference = _reference(order)
    number = payloads.invoice_number(order)
    url = payloads.invoice_url(settings.invoice_url, number, order.snapshot.order_number)
    body = payloads.invoice(number, url, operation, order.snapshot.currency)
    data = client.post(settings, client.path("orders", reference, "invoices"), body)
    uuid = _read(lambda: created_uuid(data, "invoice"), posted=True)
    return OperationResult(provider_reference=uuid, document_number=number,
                           details={"invoice_url": url})


# -- reductions -------------------------------------------------------------------------


def reduce(order: OrderContext, operation: Operation) -> OperationResult:
    """A full or partial credit, discount transfer or return."""
    settings = read_settings(order.settings)
    if operation.after_activation:
        return _credit(settings, order, operation)
    if _cancels(order, operation):
        return _cancel(settings, order)
    return _adjust(settings, order, operation)


def _cancels(order: OrderContext, operation: Operation) -> bool:
    """Everything of an order without invoices goes: Mondu's Cancel Order. With invoices the
    rest is adjusted away instead (a cancel could take the invoices with it)."""
    return not order.invoices and (operation.kind is OperationKind.FULL_CREDIT
                                   or operation.amount.gross >= order.state.unbilled)


def _cancel(settings: MonduSettings, order: OrderContext) -> OperationResult:
    reference = _reference(order)
    client.post(settings, client.path("orders", reference, "cancel"))
    return OperationResult(provider_reference=reference, details={"cancelled": "order"})


def _lowered(order: OrderContext, operation: Operation, current: int) -> bool:
    """Whether Mondu's order amount ``current`` is the one before (False) or after (True)
    the reduction; raise when it is neither, or could be either (whether credit notes lower
    ``real_price_cents`` the sources do not say: both are expected)."""
    return amount_changed(order, -operation.amount.gross, current, provider="Mondu",
                          what="reduction")


def _target(settings: MonduSettings, order: OrderContext, operation: Operation,
            gross: int) -> Amount:
    """The order's new amount with net and tax: the ledger's open amount after the
    reduction, plus what Mondu still counts beyond it. That is the credit notes when Mondu's
    amount ignores them: their tax is read from Mondu's invoices; anything else is split
    between net and tax in the open amount's proportion, so net + tax = gross to the cent."""
    after = total_of(order.state.open_by_rate) - operation.amount
    extra = gross - after.gross
    if extra and extra == order.state.credited:
        notes = [n for i in _ours(order, _get_invoices(settings, order)) for n in i.credit_notes]
        if sum(n.gross for n in notes) == extra:
            return after + sum((credit_amount(n) for n in notes), Amount.zero())
    extra_net, extra_tax = allocate(extra, [max(after.net, 0), max(after.tax, 0)])
    return Amount(gross, after.net + extra_net, after.tax + extra_tax)


def _adjust(settings: MonduSettings, order: OrderContext,
            operation: Operation) -> OperationResult:
    """Lower the order amount by the operation's; a repeat finds it lowered already."""
    reference = _reference(order)
    view = _get_order(settings, reference)
    result = OperationResult(provider_reference=reference)
    if view.amount is None:
        raise RetryableError("Mondu's order answer has no amount (real_price_cents)")
    if _lowered(order, operation, view.amount):
        log.info("Mondu order %s already has the lowered amount", reference)
        return result
    gross = view.amount - operation.amount.gross
    if gross < 0:
        raise PermanentError("the reduction is larger than the order amount at Mondu")
    client.post(settings, client.path("orders", reference, "adjust"),
                payloads.adjust(order, _target(settings, order, operation, gross)))
    return result


def _credit(settings: MonduSettings, order: OrderContext,
            operation: Operation) -> OperationResult:
    """Credit notes against the order's invoices."""
    if not order.invoices:
        raise PermanentError("no Mondu invoice is known for this order, so nothing can be "
                             "credited")
    code = payloads.credit_note_code(order, operation)
    if len(order.invoices) == 1:
        invoice = order.invoices[0]
        data = client.post(settings, client.path("invoices", invoice, "credit_notes"),
                           payloads.credit_note(code, operation.amount, operation))
        uuid = _read(lambda: created_uuid(data, "credit_note"), posted=True)
        return OperationResult(provider_reference=uuid, document_number=code,
                               details={"invoices": invoice})
    return _credit_several(settings, order, operation, code)


def _ours(order: OrderContext, invoices: tuple[InvoiceView, ...]) -> list[InvoiceView]:
    """The order's invoices as the kit knows them (its activations), in their order."""
    by_uuid = {invoice.uuid: invoice for invoice in invoices}
    return [by_uuid[uuid] for uuid in order.invoices if uuid in by_uuid]


def _credit_several(settings: MonduSettings, order: OrderContext, operation: Operation,
                    code: str) -> OperationResult:
    """With several invoices: what earlier attempts credited counts, the rest goes to one
    invoice that can hold it, or is spread over the invoices by their open amounts."""
    invoices = _ours(order, _get_invoices(settings, order))
    done = {i.uuid: sum(n.gross for n in i.notes_of(code)) for i in invoices if i.notes_of(code)}
    left = operation.amount.gross - sum(done.values())
    uuids: list[str] = []
    if left > 0:
        candidates = [(index, i) for index, i in enumerate(invoices, 1)
                      if i.uuid not in done and i.creditable > 0]
        parts = _spread(left, operation, candidates)
        for index, invoice, value in parts:
            body = payloads.credit_note(f"{code}-{index}", value, operation,
                                        with_lines=len(parts) == 1)
            data = client.post(settings, client.path("invoices", invoice.uuid, "credit_notes"),
                               body)
            uuids.append(_read(lambda d=data: created_uuid(d, "credit_note"), posted=True))
        done.update({invoice.uuid: value.gross for _, invoice, value in parts})
    return OperationResult(provider_reference=uuids[0] if uuids else None,
                           document_number=code, details={"invoices": ",".join(done)})


def _spread(gross: int, operation: Operation, candidates: list[tuple[int, InvoiceView]]
            ) -> list[tuple[int, InvoiceView, Amount]]:
    """One invoice with room for all of ``gross`` (the roomiest), else the invoices in order
    of room, each taking what it holds; the tax is split in proportion to gross."""
    roomy = [c for c in candidates if c[1].creditable >= gross]
    chosen: list[tuple[int, InvoiceView]] = []
    grosses: list[int] = []
    if roomy:
        chosen, grosses = [max(roomy, key=lambda c: (c[1].creditable, -c[0]))], [gross]
    else:
        if sum(c[1].creditable for c in candidates) < gross:
            raise PermanentError("the open amounts of the order's Mondu invoices are less "
                                 "than the credit")
        for index, invoice in sorted(candidates, key=lambda c: (-c[1].creditable, c[0])):
            take = min(invoice.creditable, gross - sum(grosses))
            if take > 0:
                chosen.append((index, invoice))
                grosses.append(take)
    tax = operation.amount.tax if gross == operation.amount.gross else \
        allocate(operation.amount.tax, [gross, operation.amount.gross - gross])[0]
    taxes = allocate(tax, grosses)
    return [(index, invoice, Amount(g, g - t, t))
            for (index, invoice), g, t in zip(chosen, grosses, taxes, strict=True)]


# -- lookups ----------------------------------------------------------------------------


def lookup(order: OrderContext, operation: Operation) -> Lookup:
    """Whether ``operation`` took effect at Mondu, from Mondu's state."""
    settings = read_settings(order.settings)
    if operation.kind is OperationKind.PLACEMENT:
        return _lookup_placement(settings, order)
    if not order.provider_reference:
        return Lookup(applied=False)
    if operation.kind is OperationKind.ACTIVATION:
        number = payloads.invoice_number(order)
        found = next((i for i in _get_invoices(settings, order) if i.number == number), None)
        if found is None:
            return Lookup(applied=False)
        return Lookup(applied=True, result=OperationResult(provider_reference=found.uuid,
                                                           document_number=number))
    if operation.after_activation:
        return _lookup_credit(settings, order, operation)
    view = _get_order(settings, order.provider_reference)
    result = OperationResult(provider_reference=order.provider_reference)
    if _cancels(order, operation) or view.cancelled:
        return Lookup(applied=view.cancelled, result=result if view.cancelled else None)
    if view.amount is None:
        raise RetryableError("Mondu's order answer has no amount (real_price_cents)")
    lowered = _lowered(order, operation, view.amount)
    return Lookup(applied=lowered, result=result if lowered else None)


def _lookup_placement(settings: MonduSettings, order: OrderContext) -> Lookup:
    """The order with our ``external_reference_id``; compared exactly here, whatever the
    listing's filter does."""
    reference = payloads.order_reference(order)
    data = client.get(settings, client.path("orders",
                                            query={"external_reference_id": reference}))
    items = data.get("orders") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise RetryableError("Mondu's order listing could not be read")
    views = [_read(lambda i=item: OrderView.read(i), posted=False) for item in items
             if isinstance(item, dict) and item.get("external_reference_id") == reference]
    if not views:
        return Lookup(applied=False)
    return Lookup(applied=True, result=_adopt(settings, order, views[0]))


def _lookup_credit(settings: MonduSettings, order: OrderContext,
                   operation: Operation) -> Lookup:
    code = payloads.credit_note_code(order, operation)
    invoices = _ours(order, _get_invoices(settings, order))
    notes = [(i.uuid, n) for i in invoices for n in i.notes_of(code)]
    credited = sum(credit_amount(n).gross for _, n in notes)
    if not notes or credited < operation.amount.gross:
        return Lookup(applied=False)
    return Lookup(applied=True, result=OperationResult(
        provider_reference=notes[0][1].uuid, document_number=code,
        details={"invoices": ",".join(dict.fromkeys(u for u, _ in notes))}))
