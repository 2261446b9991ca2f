"""The eligibility rules: each a named check that returns a machine-readable decline reason.

Every rule runs (a decline lists all reasons). The table is ``RULES``; the tests walk each
rule at its boundaries. A rule sees the whole :class:`Checkout`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from core.context import Company
from core.ledger.models import Merchant, Product
from core.risk.policy import RiskPolicy, Terms, to_eur

__all__ = ["RULES", "Cart", "CartLine", "Checkout", "decline_reasons"]


@dataclass(frozen=True, slots=True)
class CartLine:
    """An ordered product: its SKU (``None`` when the shop has none) and whether the shop
    says it comes with a trial period."""

    sku: str | None
    trial: bool = False


@dataclass(frozen=True, slots=True)
class Cart:
    """What the buyer wants to pay by invoice: the gross total in minor units."""

    currency: str
    total: int
    lines: tuple[CartLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Checkout:
    """Everything the rules look at."""

    merchant: Merchant
    terms: Terms
    policy: RiskPolicy
    company: Company
    cart: Cart
    products: Mapping[str, Product]  # the merchant's listed products by SKU
    any_approved: bool  # the merchant has at least one approved product listed


def business_buyer(c: Checkout) -> str | None:
    """B2B only: a company name and a legal form; consumers are declined."""
    if not c.company.name.strip() or not (c.company.legal_form or "").strip():
        return "not_a_business"
    return None


def cart_value(c: Checkout) -> str | None:
    """The cart's value in EUR within the merchant's limits (50.00 to 19,999.00 inclusive by
    default); other currencies at the policy's rate."""
    value = to_eur(c.cart.total, c.cart.currency, c.policy)
    if value is None:
        return "currency_not_supported"
    if value < c.terms.minimum:
        return "amount_below_minimum"
    if value > c.terms.maximum:
        return "amount_above_maximum"
    return None


def buyer_country(c: Checkout) -> str | None:
    """The buyer's country is one the merchant sells on invoice to."""
    return None if c.company.country in c.terms.countries else "country_not_supported"


def merchant_verified(c: Checkout) -> str | None:
    """The merchant's account is KYC-verified."""
    return None if c.merchant.kyc_verified else "merchant_not_verified"


def products_approved(c: Checkout) -> str | None:
    """Every ordered product is approved for invoice payment: not listed as not approved;
    with ``listed_products_only``, listed as approved (and the merchant has at least one)."""
    if c.terms.listed_products_only and not c.any_approved:
        return "no_approved_products"
    for line in c.cart.lines:
        product = c.products.get(line.sku) if line.sku else None
        if product is None:
            if c.terms.listed_products_only:
                return "product_not_approved"
        elif not product.approved:
            return "product_not_approved"
    return None


def no_trial(c: Checkout) -> str | None:
    """No product with a trial period, as the shop says or as the merchant listed it."""
    for line in c.cart.lines:
        product = c.products.get(line.sku) if line.sku else None
        if line.trial or (product is not None and product.trial):
            return "trial_product"
    return None


RULES: tuple[Callable[[Checkout], str | None], ...] = (
    business_buyer, cart_value, buyer_country, merchant_verified, products_approved, no_trial)


def decline_reasons(checkout: Checkout) -> list[str]:
    """The reasons of every rule the checkout breaks, in the table's order."""
    return [reason for rule in RULES if (reason := rule(checkout))]
