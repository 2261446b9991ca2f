"""Where the eligibility decision is made: may this business buyer pay this cart by invoice?

One function, :func:`decide`, for the checkout (``POST /api/v1/eligibility``) and for every
order placed with a provider that is not remote (the local one): the rules
(:mod:`core.risk.rules`), then the company check and the credit assessment through the risk
hooks, then the buyer's credit limit (:mod:`core.risk.limits`), and the merchant's fee. A
decline lists every reason found; later stages run only while nothing declined, so a
checkout that breaks a rule asks no register.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING
from typing import Any

from sqlalchemy import select

from core.context import Company, CompanyCheck, Eligibility
from core.hooks import Hooks
from core.ledger.models import CreditProfile, Merchant, Order, Product
from core.ledger.store import Ledger
from core.money import percent_of
from core.risk.kept import recall
from core.risk.limits import credit_facts, identity_key, open_profile, profile_of
from core.risk.policy import RiskPolicy, load_policy, terms_of, to_eur
from core.risk.rules import Cart, CartLine, Checkout, decline_reasons
from core.snapshot import OrderSnapshot

__all__ = ["Eligibility", "decide", "decide_placement"]

STRICTNESS = {"valid": 0, "unknown": 1, "invalid": 2}


def _combined(checks: list[CompanyCheck]) -> CompanyCheck:
    """The strictest of the verifiers' answers, with the reasons of all that said it."""
    if not checks:
        return CompanyCheck("valid", source="none")
    worst = max(checks, key=lambda c: STRICTNESS.get(c.status, 2))
    same = [c for c in checks if c.status == worst.status]
    reasons = tuple(dict.fromkeys(r for c in same for r in c.reasons))
    return CompanyCheck(worst.status, reasons, ", ".join(c.source for c in same))


def _key(company: Company) -> str:
    return identity_key(company.vat_id, company.name, company.postcode, company.country)


def _products(ledger: Ledger, merchant: Merchant, cart: Cart,
              listed_only: bool) -> tuple[dict[str, Product], bool]:
    """The cart's products the merchant listed, and (when only listed ones may be sold)
    whether it has any approved one."""
    skus = {line.sku for line in cart.lines if line.sku}
    listed = {p.sku: p for p in ledger.session.scalars(select(Product).where(
        Product.merchant_id == merchant.id, Product.sku.in_(skus)))} if skus else {}
    any_approved = listed_only and ledger.session.scalar(select(Product.id).where(
        Product.merchant_id == merchant.id, Product.approved.is_(True)).limit(1)) is not None
    return listed, any_approved


def decide(ledger: Ledger, hooks: Hooks, merchant: Merchant, company: Company, cart: Cart, *,
           exclude_order: int | None = None, policy: RiskPolicy | None = None,
           today: date | None = None, held: CreditProfile | None = None) -> Eligibility:
    """Decide whether ``company`` may pay ``cart`` by invoice at ``merchant``. Reads the
    ledger, writes nothing; ``exclude_order`` is the order being decided, if placed;
    ``held`` the buyer's profile when the caller holds it locked already (not read again)."""
    today = today or datetime.now(UTC).date()
    policy, terms = policy or load_policy(ledger), terms_of(merchant)
    products, any_approved = _products(ledger, merchant, cart, terms.listed_products_only)
    reasons = decline_reasons(Checkout(merchant, terms, policy, company, cart, products,
                                       any_approved))
    settings = {**merchant.provider_settings, **asdict(terms)}
    key = _key(company)
    fee = percent_of(cart.total, merchant.fee_percent)
    found: dict[str, Any] = {}
    notes: list[str] = []
    if not reasons:
        check = found["company"] = _combined(hooks.verify_company(company, settings))
        if check.status == "invalid":
            reasons.extend(check.reasons or ("company_invalid",))
        elif check.status == "unknown":
            if terms.on_unknown == "decline":
                reasons.append("company_unverified")
            else:
                notes.append("the company could not be verified online; approved by the "
                             "merchant's terms")
    if not reasons and terms.credit_limits:
        facts = credit_facts(ledger, key, policy, today=today, exclude_order=exclude_order)
        assessments = hooks.assess_credit(company, facts, cart, settings)
        for assessment in assessments:
            reasons.extend(assessment.decline_reasons)
            notes.extend(assessment.notes)
        profile = held if held is not None else profile_of(ledger.session, key)
        found["new_buyer"] = profile is None
        limit = profile.limit if profile is not None else policy.initial_limit
        limit = min([limit, *(a.limit for a in assessments if a.limit is not None)])
        cart_eur = to_eur(cart.total, cart.currency, policy)
        assert cart_eur is not None  # the cart rule declined currencies without a rate
        found.update(score=min((a.score for a in assessments), default=None), limit=limit,
                     exposure=facts.exposure,
                     cart_eur=int(cart_eur.to_integral_value(rounding=ROUND_CEILING)))
        if not reasons and facts.exposure + cart_eur > limit:
            reasons.append("limit_exceeded")
    return Eligibility(
        approved=not reasons, reasons=tuple(dict.fromkeys(reasons)), currency=cart.currency,
        total=cart.total, fee=fee, fee_vat=percent_of(fee, merchant.fee_vat_percent),
        fee_percent=merchant.fee_percent, buyer_key=key, notes=tuple(notes), **found)


def company_of(snapshot: OrderSnapshot) -> Company:
    """The buyer of an order as the risk engine sees it."""
    b = snapshot.buyer
    return Company(name=b.company or "", legal_form=b.legal_form, vat_id=b.vat_id,
                   street=b.street, postcode=b.postcode, city=b.city, country=b.country)


def _within_limit(ledger: Ledger, kept: Eligibility, order: Order, policy: RiskPolicy,
                  held: CreditProfile | None) -> Eligibility:
    """A decision kept from the checkout, with the buyer's limit checked again against what
    the ledger holds now (other orders of the buyer placed since); no hook is asked."""
    if not kept.approved or kept.limit is None or kept.cart_eur is None:
        return kept
    profile = held if held is not None and held.buyer_key == kept.buyer_key \
        else profile_of(ledger.session, kept.buyer_key)
    limit = min(kept.limit, profile.limit) if profile is not None else kept.limit
    facts = credit_facts(ledger, kept.buyer_key, policy, today=datetime.now(UTC).date(),
                         exclude_order=order.id)
    if facts.exposure + kept.cart_eur <= limit:
        return replace(kept, limit=limit, exposure=facts.exposure)
    return replace(kept, approved=False, reasons=("limit_exceeded",), limit=limit,
                   exposure=facts.exposure)


def decide_placement(ledger: Ledger, hooks: Hooks, order: Order,
                     snapshot: OrderSnapshot) -> Eligibility:
    """Decide on a newly placed order, store the decision on it, and open the buyer's credit
    profile when approved. A decision the shop's checkout asked for this order
    (:mod:`core.risk.kept`: same amount and currency, recent) is reused, only the buyer's
    limit checked again, so the buyer is not checked twice."""
    merchant = ledger.merchant(order.connection.merchant_id)
    cart = Cart(snapshot.currency, snapshot.total,
                tuple(CartLine(line.sku) for line in snapshot.products))
    policy, company = load_policy(ledger), company_of(snapshot)
    # hold the buyer's profile while deciding: two orders of one buyer placed at once are
    # decided one after the other, the second seeing the first's exposure
    # (a profile found is locked: what decide reads of it below cannot change meanwhile)
    held = profile_of(ledger.session, _key(company), for_update=True)
    kept = recall(ledger, order.connection_id, order.shop_order_id, snapshot.currency,
                  snapshot.total)
    if kept is not None:
        eligibility = _within_limit(ledger, kept, order, policy, held)
        if eligibility.approved and eligibility.new_buyer:
            open_profile(ledger, eligibility.buyer_key, policy.initial_limit,
                         f"opened at the initial limit with order {snapshot.order_number}")
        order.decision = eligibility.to_json()
        return eligibility
    eligibility = decide(ledger, hooks, merchant, company, cart, exclude_order=order.id,
                         policy=policy, held=held)
    if eligibility.approved and eligibility.new_buyer:
        _, opened = open_profile(ledger, eligibility.buyer_key, policy.initial_limit,
                                 f"opened at the initial limit with order "
                                 f"{snapshot.order_number}")
        if not opened:  # the buyer's first order placed at the same moment opened it first:
            eligibility = decide(ledger, hooks, merchant, company, cart,  # decide with it
                                 exclude_order=order.id, policy=policy)
    order.decision = eligibility.to_json()
    return eligibility
