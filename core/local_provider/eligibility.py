"""The basic checkout rules of the local provider (the risk issue adds the full engine).

Each rule is a named check returning a machine-readable decline reason, or ``None``.
"""

from __future__ import annotations

from collections.abc import Callable

from core.money import to_minor
from core.snapshot import OrderSnapshot

__all__ = ["COUNTRIES", "MAXIMUM_EUR", "MINIMUM_EUR", "RULES", "decline_reason"]

COUNTRIES = frozenset({"DE", "FR", "NL", "SE", "NO", "FI", "AT", "ES", "DK"})
MINIMUM_EUR = to_minor("50.00", "EUR")
MAXIMUM_EUR = to_minor("19999.00", "EUR")
MAX_REFERENCE_LENGTH = 35  # SEPA remittance and EPC QR limit


def business_buyer(snapshot: OrderSnapshot) -> str | None:
    """Only business buyers: a company name and a legal form."""
    buyer = snapshot.buyer
    if not (buyer.company or "").strip() or not (buyer.legal_form or "").strip():
        return "not_a_business"
    return None


def cart_value(snapshot: OrderSnapshot) -> str | None:
    """Cart value 50.00 to 19,999.00 EUR inclusive; other currencies wait for the risk engine."""
    if snapshot.currency != "EUR":
        return "currency_not_supported"
    if not MINIMUM_EUR <= snapshot.total <= MAXIMUM_EUR:
        return "amount_out_of_range"
    return None


def buyer_country(snapshot: OrderSnapshot) -> str | None:
    """The buyer's country is one of DE FR NL SE NO FI AT ES DK."""
    return None if snapshot.buyer.country in COUNTRIES else "country_not_supported"


def reference_fits(snapshot: OrderSnapshot, merchant_id: int) -> str | None:
    """``BP<order number>/<merchant id>`` must fit a SEPA remittance line (35 characters)."""
    if len(f"BP{snapshot.order_number}/{merchant_id}") > MAX_REFERENCE_LENGTH:
        return "order_number_too_long"
    return None


RULES: tuple[Callable[[OrderSnapshot], str | None], ...] = (
    business_buyer, cart_value, buyer_country)


def decline_reason(snapshot: OrderSnapshot, merchant_id: int) -> str | None:
    """The first rule the order breaks, or ``None`` if invoice payment may be offered."""
    for rule in RULES:
        reason = rule(snapshot)
        if reason:
            return reason
    return reference_fits(snapshot, merchant_id)
