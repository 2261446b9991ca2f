"""One order as plain values, for ``invoicekit orders show`` and the back office: state,
amounts, bank details, documents, operations, provider events, the changes of the shop the
kit did not pass on (refusals), where shop and ledger still differ (drift) and write-backs.

Amounts: ``authorised`` and ``activated``; for the local provider's invoices ``invoiced``,
``credited``, ``paid`` (principal and charges), ``charges`` (claimed in default, less
waived), ``charges_paid``, ``charges_open``, ``charges_waived`` and ``open`` (what the buyer
still owes: :mod:`core.receivables.balance`); otherwise ``credited`` and ``open`` as the
provider's operations left them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.ledger.models import Invoice, Order, OrderDrift, RefusalRecord, WriteBackRecord
from core.ledger.store import Ledger
from core.money import to_decimal
from core.receivables.balance import balance_of

__all__ = ["order_details"]


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
    return {
        "shop": order.connection.name, "order_id": order.shop_order_id,
        "order_number": order.order_number,
        "status": state.status.value, "decline_reason": state.decline_reason,
        "decision": order.decision,
        "currency": order.currency, "total": snapshot["total"],
        "authorised": money(state.authorised), "activated": money(state.activated),
        **amounts,
        "payment_reference": invoice.payment_reference if invoice else order.provider_reference,
        "iban": invoice.iban if invoice else None, "bic": invoice.bic if invoice else None,
        "due_on": invoice.due_on.isoformat() if invoice and invoice.due_on else None,
        "lines": [{"line_id": k, "ordered": v.ordered, "activated": v.activated,
                   "cancelled": v.cancelled, "returned": v.returned}
                  for k, v in state.lines.items()],
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
