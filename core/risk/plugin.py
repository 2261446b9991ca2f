"""The kit's own risk hooks: company data checks and a credit assessment from what the
instance knows. Registered by default; credit agencies and registers plug in beside it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core import hookimpl
from core.context import Company, CompanyCheck, CreditAssessment, CreditFacts
from core.risk import company as company_data

SOURCE = "history"
DECLINE_BELOW = 20  # a score under this declines as ``risk_policy``


@hookimpl
def verify_company(company: Company, settings: Mapping[str, Any]) -> CompanyCheck:
    return company_data.verify(company, vies=bool(settings.get("vies")),
                               timeout=float(settings.get("vies_timeout", 3)))


def _years(company: Company) -> float | None:
    if company.founded_on is None:
        return None
    return (datetime.now(UTC).date() - company.founded_on).days / 365.25


@hookimpl
def assess_credit(company: Company, facts: CreditFacts,
                  settings: Mapping[str, Any]) -> CreditAssessment:
    """Score 0 to 100 from the buyer's record on the instance and its company data; decline a
    buyer with claims at collection, invoices overdue now, or a business type the merchant
    excludes."""
    score, notes, reasons = 60, [], []
    business = (company.business_type or "").strip().casefold()
    if business and business in settings.get("excluded_business_types", ()):
        reasons.append("business_type_excluded")
    score += min(30, 5 * facts.paid_on_time) - 10 * facts.paid_late
    if facts.collection_entries:
        reasons.append("collection_entries")
        notes.append(f"{facts.collection_entries} claim(s) with the collection partner")
        score -= 50
    if facts.open_overdue:
        reasons.append("invoices_overdue")
        notes.append(f"{facts.open_overdue} invoice(s) overdue")
        score -= 25
    years = _years(company)
    if years is not None:
        score += 10 if years >= 5 else -15 if years < 1 else 0
    if company.employees is not None and company.employees >= 10:
        score += 5
    score = max(0, min(100, score))
    if score < DECLINE_BELOW and not reasons:
        reasons.append("risk_policy")
    return CreditAssessment(source=SOURCE, score=score, decline_reasons=tuple(reasons),
                            notes=tuple(notes))
