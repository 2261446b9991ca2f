"""Billie's legal form codes for the written forms :mod:`core.legal_forms` recognises.

Billie wants a code from ``GET legal-forms`` (``"10001"`` is a GmbH). The codes below are
those of Billie's published list; a form without a code of its own is sent as ``"99999"``
(*Sonstige*), which Billie accepts without a registration number.
"""

from __future__ import annotations

from core.legal_forms import guess_legal_form
from core.snapshot import Buyer

__all__ = ["OTHER", "legal_form_code"]

OTHER = "99999"

_CODES = {
    "GmbH": "10001",
    "gGmbH": "10001",
    "UG (haftungsbeschränkt)": "10201",
    "UG": "10201",
    "AG": "11001",
    "KGaA": "14001",
    "KG": "8001",
    "GmbH & Co. KG": "90001",
    "OHG": "7001",
    "GbR": "4001",
    "e.K.": "6001",
    "e.U.": "6001",
    "e.V.": "13001",
    "eG": "12001",
}
_BY_FOLDED = {form.casefold(): code for form, code in _CODES.items()}


def legal_form_code(buyer: Buyer) -> str:
    """The buyer's legal form as Billie's code: a code given as such, else the form the shop
    sent, else the one the company name ends with; ``"99999"`` when none has a code."""
    given = (buyer.legal_form or "").strip()
    if given.isdigit():
        return given
    guessed = guess_legal_form(buyer.company) or ""
    return _BY_FOLDED.get(given.casefold()) or _BY_FOLDED.get(guessed.casefold()) or OTHER
