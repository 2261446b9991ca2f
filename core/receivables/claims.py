"""A receivable handed over to collection, as the ``handover_to_collection`` hook gets it."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.context import Claim
from core.ledger.models import Invoice, Merchant, Order, Receivable, ShopConnection
from core.receivables.notices import contact, default_on_of, is_written_reminder
from core.snapshot import Buyer

__all__ = ["handover_claim"]


def handover_claim(session: Session, receivable: Receivable, day: date) -> Claim:
    """The claim of ``receivable`` as handed over to collection on ``day``."""
    invoice = session.get(Invoice, receivable.invoice_id)
    order = session.get(Order, receivable.order_id)
    merchant = session.get(Merchant, receivable.merchant_id)
    connection = session.get(ShopConnection, order.connection_id)
    buyer = Buyer(**order.snapshot["buyer"])
    reminders = [s.taken_on for s in receivable.steps if is_written_reminder(s)]
    held = {charge.kind: charge.open for charge in receivable.charges}
    default = default_on_of(receivable)
    return Claim(
        merchant_id=merchant.id, merchant_name=merchant.name, shop=connection.name,
        order_id=order.shop_order_id, order_number=order.order_number,
        invoice_number=invoice.number, invoice_date=invoice.issued_on,
        due_on=invoice.due_on,
        installment=f"{receivable.installment}/{receivable.installments}"
        if receivable.installment else None,
        currency=receivable.currency, principal=receivable.open_amount,
        fee=held.get("fee", 0), interest=held.get("interest", 0), as_of=day,
        default_on=default if default <= day else None,
        payment_reference=invoice.payment_reference, buyer_company=buyer.company or "",
        buyer_name=contact(order.snapshot["buyer"]),
        buyer_email=buyer.email, buyer_vat_id=buyer.vat_id, buyer_street=buyer.street,
        buyer_postcode=buyer.postcode, buyer_city=buyer.city,
        buyer_country=buyer.country, reminders=tuple(reminders))
