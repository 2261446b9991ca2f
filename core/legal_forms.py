"""Legal forms of companies in the invoice countries, recognised from a company name.

Shops rarely ask for the legal form; it is usually the end of the company name
("Muster Bürobedarf GmbH"). The risk engine validates forms per country; this only reads them.
"""

from __future__ import annotations

import re

__all__ = ["LEGAL_FORMS", "guess_legal_form"]

# Written forms by country (DE AT FR NL SE NO FI ES DK), longest first when matched.
LEGAL_FORMS = (
    "GmbH & Co. KG", "GmbH & Co. OHG", "UG (haftungsbeschränkt)", "gGmbH", "GmbH", "UG", "AG",
    "KGaA", "KG", "OHG", "GbR", "e.K.", "e.V.", "eG", "SE", "e.U.", "OG",
    "SAS", "SASU", "SARL", "EURL", "SA", "SNC", "SCI",
    "B.V.", "N.V.", "V.O.F.", "C.V.",
    "AB", "HB", "KB", "ASA", "AS", "ANS", "DA",
    "Oyj", "Oy", "Ky", "Ay",
    "S.L.U.", "S.L.", "S.A.", "S.C.",
    "ApS", "A/S", "I/S", "IVS", "P/S", "K/S",
)


def _normal(text: str) -> str:
    return re.sub(r"[\s.]", "", text).casefold()


_BY_NORMAL = sorted(((_normal(form), form) for form in LEGAL_FORMS), key=lambda p: -len(p[0]))


def guess_legal_form(company: str | None) -> str | None:
    """The legal form a company name ends with (``"Beispiel B.V."`` → ``"B.V."``), or None."""
    if not company:
        return None
    words = company.replace(",", " ").split()
    for count in range(min(4, len(words)), 0, -1):
        tail = _normal(" ".join(words[-count:]))
        for normal, form in _BY_NORMAL:
            if tail == normal and len(words) > count:
                return form
    return None
