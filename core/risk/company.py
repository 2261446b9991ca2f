"""The kit's own company data checks: VAT ID, legal form, address, and VIES online.

Offline, for the nine invoice countries: the VAT ID belongs to the buyer's country and has
valid check digits (python-stdnum; Norway is not in VIES, its ``NO…MVA`` number gets the
format and check digits only), the legal form is one of the country's, and the postcode has
the country's format. Online, when the merchant turned it on, the EU's VIES service: it
confirms, says *not registered*, or cannot answer — then the check is ``unknown``, never
``invalid``.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from stdnum.eu import vat as eu_vat
from stdnum.no import mva

from core.context import Company, CompanyCheck
from core.legal_forms import forms_of, is_legal_form

__all__ = ["VIES_URL", "address_reason", "legal_form_reason", "vat_id_reason", "vat_number",
           "verify", "vies_status"]

VIES_URL = "https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number"
POSTCODES = {  # the nine invoice countries
    "DE": r"\d{5}", "AT": r"\d{4}", "FR": r"\d{5}", "NL": r"[1-9]\d{3} ?[A-Z]{2}",
    "SE": r"\d{3} ?\d{2}", "NO": r"\d{4}", "FI": r"\d{5}", "ES": r"(0[1-9]|[1-4]\d|5[0-2])\d{3}",
    "DK": r"\d{4}",
}
NOT_IN_VIES = {"NO"}
NOT_REGISTERED = {"INVALID_INPUT"}  # VIES's word for a number it does not know


def _compact(vat_id: str) -> str:
    return re.sub(r"[\s.\-/]", "", vat_id).upper()


def vat_number(vat_id: str, country: str) -> str:
    """The VAT ID compacted, with a country prefix (the holder's country's, when it had
    none; Greece's is ``EL``)."""
    number = _compact(vat_id)
    return number if re.match(r"[A-Z]{2}", number) else \
        ("EL" if country == "GR" else country) + number


def vat_id_reason(vat_id: str | None, country: str) -> str | None:
    """Why the VAT ID is wrong for a buyer in ``country``, or ``None``."""
    if not vat_id or country not in POSTCODES:
        return None
    number = vat_number(vat_id, country)
    if number[:2] != country:
        return "vat_id_country_mismatch"
    if country == "NO":  # not in the EU's VAT system: the MVA number, "MVA" optional
        return None if mva.is_valid(number[2:].removesuffix("MVA") + "MVA") else "vat_id_invalid"
    return None if eu_vat.is_valid(number) else "vat_id_invalid"


def legal_form_reason(legal_form: str | None, country: str) -> str | None:
    """``legal_form_invalid`` when the form is not one of ``country``'s (countries without a
    list of forms accept any)."""
    if not legal_form or not forms_of(country):
        return None
    return None if is_legal_form(legal_form, country) else "legal_form_invalid"


def address_reason(street: str | None, postcode: str | None, city: str | None,
                   country: str) -> str | None:
    """``address_implausible``: no street (with a letter) or city, or a postcode not in the
    country's format."""
    if not re.search(r"[^\W\d_]", street or "") or not (city or "").strip():
        return "address_implausible"
    pattern = POSTCODES.get(country)
    if pattern and not re.fullmatch(pattern, (postcode or "").strip().upper()):
        return "address_implausible"
    return None


def _unverified(error: str) -> CompanyCheck:
    return CompanyCheck("unknown", ("vat_id_unverified",), "vies", {"error": error})


def vies_status(vat_id: str, *, timeout: float = 5.0,
                session: requests.Session | None = None) -> CompanyCheck:
    """Ask VIES about an EU VAT ID (with its country prefix); ``unknown`` whenever VIES
    cannot say. Never raises for network trouble."""
    number = _compact(vat_id)
    if number[:2] in NOT_IN_VIES:
        return _unverified("not in VIES")
    try:
        response = (session or requests).post(
            VIES_URL, json={"countryCode": number[:2], "vatNumber": number[2:]},
            timeout=timeout)
    except requests.RequestException as exc:
        return _unverified(type(exc).__name__)
    try:
        answer: Any = response.json()
    except ValueError:  # requests' JSONDecodeError
        answer = None
    if not isinstance(answer, dict):
        return _unverified(f"HTTP {response.status_code}, no JSON object")
    errors = {e.get("error") for e in answer.get("errorWrappers") or () if isinstance(e, dict)}
    errors = (errors | {answer.get("userError")}) - {None, "VALID", "INVALID"}
    if errors & NOT_REGISTERED:
        return CompanyCheck("invalid", ("vat_id_not_registered",), "vies")
    if errors or not response.ok:
        return _unverified(", ".join(sorted(map(str, errors))) or f"HTTP {response.status_code}")
    valid = answer.get("valid", answer.get("isValid"))
    if valid is True:
        given = {"name": answer.get("name"), "address": answer.get("address"),
                 "request_date": answer.get("requestDate")}
        details = {k: v for k, v in given.items() if v and v != "---"}  # "---": not disclosed
        return CompanyCheck("valid", source="vies", details=details)
    if valid is False:
        return CompanyCheck("invalid", ("vat_id_not_registered",), "vies")
    return _unverified("no answer")


def verify(company: Company, *, vies: bool = False, timeout: float = 5.0) -> CompanyCheck:
    """The offline checks; then VIES, when asked, for an EU VAT ID."""
    reasons = [reason for reason in (
        vat_id_reason(company.vat_id, company.country),
        legal_form_reason(company.legal_form, company.country),
        address_reason(company.street, company.postcode, company.city, company.country))
        if reason]
    if reasons:
        return CompanyCheck("invalid", tuple(reasons), "format")
    country = company.country
    if vies and company.vat_id and country in POSTCODES and country not in NOT_IN_VIES:
        return vies_status(vat_number(company.vat_id, country), timeout=timeout)
    return CompanyCheck("valid", source="format")
