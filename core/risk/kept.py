"""Eligibility decisions made at a shop's checkout, kept for the order's placement.

A shop that asks the kit while the buyer places the order (such as Shopware's pay URL)
gets the same decision as ``POST /api/v1/eligibility``
(:func:`core.risk.decide.decide`). The decision is kept, keyed by the shop connection and
the shop's order id, and the placement of that order reuses it
(:func:`core.risk.decide.decide_placement`) instead of checking the buyer again, when the
order comes with the same amount and currency. A decline stands for good: the shop failed
that payment, so the order is never placed on invoice by itself. An approval stands for
:data:`KEPT_FOR`; later, or for another amount, the placement decides afresh.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.context import CompanyCheck, Eligibility
from core.ledger.models import CheckoutDecision
from core.ledger.store import Ledger

__all__ = ["KEPT_FOR", "from_record", "recall", "remember", "to_record"]

# How long a checkout decision stands for its order's placement: the shop's order event
# normally follows within seconds (Shopware sends it from its message queue).
KEPT_FOR = timedelta(minutes=30)


def to_record(eligibility: Eligibility) -> dict[str, Any]:
    """The whole decision as JSON values (:func:`from_record` reads it back)."""
    company = eligibility.company
    return {
        "approved": eligibility.approved, "reasons": list(eligibility.reasons),
        "currency": eligibility.currency, "total": eligibility.total,
        "fee": eligibility.fee, "fee_vat": eligibility.fee_vat,
        "fee_percent": str(eligibility.fee_percent), "buyer_key": eligibility.buyer_key,
        "company": None if company is None else {
            "status": company.status, "reasons": list(company.reasons),
            "source": company.source},
        "score": eligibility.score, "limit": eligibility.limit,
        "exposure": eligibility.exposure, "cart_eur": eligibility.cart_eur,
        "notes": list(eligibility.notes), "new_buyer": eligibility.new_buyer,
    }


def from_record(data: dict[str, Any]) -> Eligibility:
    company = data.get("company")
    return Eligibility(
        approved=bool(data["approved"]), reasons=tuple(data["reasons"]),
        currency=data["currency"], total=int(data["total"]), fee=int(data["fee"]),
        fee_vat=int(data["fee_vat"]), fee_percent=Decimal(data["fee_percent"]),
        buyer_key=data["buyer_key"],
        company=None if company is None else CompanyCheck(
            company["status"], tuple(company["reasons"]), company["source"]),
        score=data.get("score"), limit=data.get("limit"), exposure=data.get("exposure"),
        cart_eur=data.get("cart_eur"), notes=tuple(data.get("notes") or ()),
        new_buyer=bool(data.get("new_buyer")))


def _row(ledger: Ledger, connection_id: int, shop_order_id: str) -> CheckoutDecision | None:
    return ledger.session.scalars(select(CheckoutDecision).where(
        CheckoutDecision.connection_id == connection_id,
        CheckoutDecision.shop_order_id == shop_order_id)).one_or_none()


def remember(ledger: Ledger, connection_id: int, shop_order_id: str,
             eligibility: Eligibility, now: datetime | None = None) -> None:
    """Keep ``eligibility`` for the shop's order (replacing one kept before)."""
    row = _row(ledger, connection_id, shop_order_id)
    if row is None:
        row = CheckoutDecision(connection_id=connection_id, shop_order_id=shop_order_id)
        ledger.session.add(row)
    row.currency, row.total = eligibility.currency, eligibility.total
    row.approved, row.eligibility = eligibility.approved, to_record(eligibility)
    row.decided_at = now or datetime.now(UTC)
    ledger.session.flush()


def recall(ledger: Ledger, connection_id: int, shop_order_id: str, currency: str,
           total: int, now: datetime | None = None) -> Eligibility | None:
    """The decision kept for the shop's order, if it was made for ``total`` minor units of
    ``currency``: a decline whenever it was made (the shop failed that payment), an
    approval within :data:`KEPT_FOR`; else ``None``."""
    row = _row(ledger, connection_id, shop_order_id)
    if row is None or (row.currency, row.total) != (currency, total):
        return None
    if row.approved and (now or datetime.now(UTC)) - row.decided_at > KEPT_FOR:
        return None
    return from_record(row.eligibility)
