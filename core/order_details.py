"""One order as plain values, for ``invoicekit orders show`` and the back office: state,
amounts, bank details, documents, operations, provider events, the changes of the shop the
kit did not pass on (refusals), where shop and ledger still differ (drift) and write-backs.

Amounts: ``authorised`` and ``activated``; for the local provider's invoices ``invoiced``,
``credited``, ``paid`` (principal and charges), ``charges`` (claimed in default, less
waived), ``charges_paid``, ``charges_open``, ``charges_waived`` and ``open`` (what the buyer
still owes: :mod:`core.receivables.balance`); for a remote provider's invoices ``invoiced``,
``credited``, ``paid`` (as the provider reported it) and ``open``; before any invoice
``credited`` and ``open`` as the provider's operations left them. ``disputed``: the provider
reported that the buyer disputes an invoice."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from core.ledger.models import (
    Invoice,
    OperationRecord,
    Order,
    OrderDrift,
    RefusalRecord,
    WriteBackRecord,
)
from core.ledger.store import Ledger
from core.money import exponent, to_decimal
from core.provider_events import disputed
from core.receivables.balance import balance_of, remote_balance

__all__ = ["order_details"]

_CREDITS = ("full_credit", "partial_credit", "discount_transfer", "return")


def _lines(order: Order, state_lines: dict[str, Any]) -> list[dict[str, Any]]:
    """The lines as the shop sent them (name, SKU, quantity, unit price, tax rate and line
    total, gross, from the snapshot) with what the ledger did with each."""
    sent = {line["line_id"]: line for line in order.snapshot.get("lines") or []}
    cent = Decimal(1).scaleb(-exponent(order.currency))
    lines = []
    for line_id in [*sent, *(k for k in state_lines if k not in sent)]:
        shop = sent.get(line_id, {})
        quantity = shop.get("quantity")
        gross = Decimal(shop["gross"]) if shop.get("gross") is not None else None
        unit = (gross / quantity).quantize(cent, ROUND_HALF_UP) \
            if gross is not None and quantity else None
        ledger_line = state_lines.get(line_id)
        lines.append({
            "line_id": line_id, "kind": shop.get("kind"), "name": shop.get("name"),
            "sku": shop.get("sku"), "quantity": quantity,
            "unit_price": str(unit) if unit is not None else None,
            "tax_rate": shop.get("tax_rate"),
            "total": str(gross.quantize(cent)) if gross is not None else None,
            "ordered": ledger_line.ordered if ledger_line else 0,
            "activated": ledger_line.activated if ledger_line else 0,
            "cancelled": ledger_line.cancelled if ledger_line else 0,
            "returned": ledger_line.returned if ledger_line else 0})
    return lines


def _provider_documents(ledger: Ledger, order: Order) -> list[dict[str, Any]]:
    """A remote provider's invoices and credit notes as its operations reported them
    (number, amount, the provider's reference)."""
    return [{"kind": "invoice" if r.kind == "activation" else "credit_note",
             "number": r.document_number, "gross": str(to_decimal(r.gross, order.currency)),
             "reference": r.provider_reference,
             "at": r.created_at.isoformat()}
            for r in ledger.session.scalars(select(OperationRecord).where(
                OperationRecord.order_id == order.id, OperationRecord.status == "succeeded",
                OperationRecord.kind.in_(("activation", *_CREDITS)))
                .order_by(OperationRecord.id))
            if r.document_number]


def _pay_to(ledger: Ledger, order: Order) -> dict[str, str] | None:
    """Where a remote provider's buyer pays: the bank details it reported last (stored
    with the write-backs to the shop)."""
    for values in ledger.session.scalars(select(WriteBackRecord.values).where(
            WriteBackRecord.order_id == order.id).order_by(WriteBackRecord.id.desc())):
        if values and values.get("iban"):
            return {key: values[key] for key in ("iban", "bic", "payment_reference",
                                                 "due_date") if values.get(key)}
    return None


def order_details(ledger: Ledger, order: Order) -> dict[str, Any]:
    """Everything about one order as plain values (amounts as decimal strings)."""
    state = ledger.state_of(order)

    def money(minor: int) -> str:
        return str(to_decimal(minor, order.currency))

    invoices = ledger.session.scalars(select(Invoice).where(Invoice.order_id == order.id)
                                      .order_by(Invoice.id)).all()
    invoice = next((i for i in invoices if i.kind == "invoice"), None)
    snapshot = order.snapshot
    balance = balance_of(ledger, order)
    amounts = {"credited": money(state.credited + state.reduced),
               "open": money(state.open_amount)}
    if balance is not None:  # the local provider's invoices: what the buyer paid counts
        amounts = {name: money(value) for name, value in balance.as_dict().items()}
    elif (reported := remote_balance(ledger, order)) is not None:
        # a remote provider's invoices: the payments it reported count; still open is also
        # what it authorised and was not invoiced yet
        amounts = {"invoiced": money(reported.invoiced), "credited": money(reported.credited),
                   "paid": money(reported.paid),
                   "open": money(reported.open + state.unbilled)}
    return {
        "shop": order.connection.name, "order_id": order.shop_order_id,
        "order_number": order.order_number,
        "status": state.status.value, "decline_reason": state.decline_reason,
        "decision": order.decision, "disputed": disputed(ledger, order),
        "currency": order.currency, "total": snapshot["total"],
        "authorised": money(state.authorised), "activated": money(state.activated),
        **amounts,
        "payment_reference": invoice.payment_reference if invoice else order.provider_reference,
        "iban": invoice.iban if invoice else None, "bic": invoice.bic if invoice else None,
        "due_on": invoice.due_on.isoformat() if invoice and invoice.due_on else None,
        "lines": _lines(order, dict(state.lines)),
        "provider": order.provider, "provider_reference": order.provider_reference,
        "provider_documents": [] if invoices else _provider_documents(ledger, order),
        "pay_to": None if invoice else _pay_to(ledger, order),
        "documents": [{"kind": d.kind, "number": d.number, "gross": money(d.gross),
                       "net": money(d.net), "tax": money(d.tax),
                       "issued_on": d.issued_on.isoformat()} for d in invoices],
        "operations": [{"kind": r.kind, "amount": money(r.gross), "status": r.status,
                        "attempts": r.attempts, "error": r.error,
                        "document": r.document_number} for r in ledger.operations_of(order)],
        "provider_events": [{"kind": m.kind.removeprefix("provider_"), "amount": money(m.amount),
                             "at": m.occurred_at.isoformat(), "description": m.description}
                            for m in ledger.movements_of(order)
                            if m.kind.startswith("provider_")],
        "refusals": [{"reason": r.reason, "amount": money(r.amount), "message": r.message,
                      "at": r.created_at.isoformat()}
                     for r in ledger.session.scalars(
                         select(RefusalRecord).where(RefusalRecord.order_id == order.id)
                         .order_by(RefusalRecord.id))],
        "drift": [{"kind": d.kind, "shop": d.shop, "kit": d.kit,
                   "since": d.first_seen_at.isoformat(), "seen": d.seen,
                   "acknowledged_at": d.acknowledged_at.isoformat() if d.acknowledged_at
                   else None}
                  for d in ledger.session.scalars(
                      select(OrderDrift).where(OrderDrift.connection_id == order.connection_id,
                                               OrderDrift.shop_order_id == order.shop_order_id,
                                               OrderDrift.resolved_at.is_(None))
                      .order_by(OrderDrift.id))],
        "writebacks": [{"id": w.id, "event": w.event, "status": w.status,
                        "attempts": w.attempts, "outcome": w.error or w.result}
                       for w in ledger.session.scalars(
                           select(WriteBackRecord).where(WriteBackRecord.order_id == order.id)
                           .order_by(WriteBackRecord.id))],
    }
