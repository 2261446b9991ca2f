"""The seller details an EN 16931 / XRechnung document needs beyond the merchant's name,
country and bank: postal address (BG-5), VAT ID (BT-31) or tax number (BT-32), legal
registration (BT-30), contact (BG-6) and electronic address (BT-34).

They live in one JSON column, ``Merchant.seller``, set with ``invoicekit merchants
configure --seller KEY=VALUE`` (see ``docs/einvoice.md``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stdnum.eu import vat as eu_vat

from core.errors import ConfigurationError

__all__ = ["KEYS", "REQUIRED", "merge_seller", "missing", "seller_details"]

# key → what it is (the help text and the error messages name it)
KEYS = {
    "street": "street and number (BT-35)",
    "address_2": "second address line (BT-36)",
    "postcode": "postcode (BT-38)",
    "city": "city (BT-37)",
    "vat_id": "VAT ID (BT-31), e.g. DE123456789",
    "tax_number": "tax number (BT-32), e.g. 30/123/45678",
    "register": "legal registration (BT-30), e.g. 'HRB 12345, Amtsgericht Berlin'",
    "contact_name": "contact person or department (BT-41)",
    "phone": "contact phone (BT-42)",
    "email": "contact e-mail (BT-43)",
    "electronic_address": "electronic address (BT-34, scheme EM) [default: email]",
}
# what every document needs (XRechnung: BR-DE-2 … BR-DE-7, BR-CO-26, BT-34)
REQUIRED = ("street", "postcode", "city", "contact_name", "phone", "email")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check(key: str, value: str, country: str) -> str:
    """The value as stored, or :class:`ConfigurationError` naming the option."""
    if key not in KEYS:
        raise ConfigurationError(f"--seller {key}: unknown seller detail; known: "
                                 f"{', '.join(KEYS)}")
    value = value.strip()
    if key == "vat_id":
        number = re.sub(r"[\s.\-]", "", value).upper()
        if not re.match(r"[A-Z]{2}", number):
            number = (country if country != "GR" else "EL") + number
        if not eu_vat.is_valid(number):
            raise ConfigurationError(f"--seller vat_id: {value!r} is not a valid EU VAT ID "
                                     "(country prefix and check digits)")
        return number
    if key in ("email", "electronic_address") and not _EMAIL.fullmatch(value):
        raise ConfigurationError(f"--seller {key}: {value!r} is not an e-mail address")
    if key == "phone" and len(re.sub(r"\D", "", value)) < 3:
        raise ConfigurationError(f"--seller phone: {value!r} is not a phone number")
    if len(value) > 200:
        raise ConfigurationError(f"--seller {key}: at most 200 characters")
    return value


def merge_seller(current: Mapping[str, Any], changes: Mapping[str, str | None],
                 country: str) -> dict[str, Any]:
    """``current`` with ``changes`` checked and applied; an empty or ``None`` value removes
    the detail."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None or not value.strip():
            if key not in KEYS:
                _check(key, "", country)
            merged.pop(key, None)
        else:
            merged[key] = _check(key, value, country)
    return merged


def missing(seller: Mapping[str, Any]) -> list[str]:
    """The details a document needs that ``seller`` lacks (VAT ID or tax number: one)."""
    gaps = [key for key in REQUIRED if not seller.get(key)]
    if not seller.get("vat_id") and not seller.get("tax_number"):
        gaps.append("vat_id or tax_number")
    return gaps


def seller_details(merchant: Any) -> dict[str, Any]:
    """The merchant's seller details, or :class:`ConfigurationError` naming the missing
    ones and the command that sets them."""
    seller = dict(merchant.seller or {})
    gaps = missing(seller)
    if gaps:
        raise ConfigurationError(
            f"merchant {merchant.id} lacks seller details for e-invoices: {', '.join(gaps)}; "
            f"set them with `invoicekit merchants configure {merchant.id} --seller KEY=VALUE`")
    return seller
