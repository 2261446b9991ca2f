"""Legal forms of companies in the invoice countries, per country, and read from a name.

Shops rarely ask for the legal form; it is usually the end of the company name
("Muster Bürobedarf GmbH"). The risk engine checks that a form is one of the buyer
country's; comparison ignores case, spaces and dots ("bv" is "B.V.").
"""

from __future__ import annotations

import re

__all__ = ["FORMS_BY_COUNTRY", "LEGAL_FORMS", "forms_of", "guess_legal_form", "is_legal_form"]

FORMS_BY_COUNTRY: dict[str, tuple[str, ...]] = {
    "DE": ("GmbH", "GmbH & Co. KG", "GmbH & Co. OHG", "UG (haftungsbeschränkt)", "UG",
           "gGmbH", "AG", "KGaA", "KG", "OHG", "GbR", "PartG", "PartG mbB", "e.K.", "e.V.",
           "eG", "SE", "Einzelunternehmen"),
    "AT": ("GmbH", "GmbH & Co. KG", "FlexCo", "FlexKapG", "AG", "KG", "OG", "GesbR", "e.U.",
           "eGen", "SE", "Verein", "Einzelunternehmen"),
    "FR": ("SAS", "SASU", "SARL", "EURL", "SA", "SNC", "SCS", "SCA", "SCI", "SCOP", "SE",
           "EI", "EIRL", "Association"),
    "NL": ("B.V.", "N.V.", "V.O.F.", "C.V.", "Eenmanszaak", "Maatschap", "Stichting",
           "Vereniging", "Coöperatie", "SE"),
    "SE": ("AB", "Publ AB", "HB", "KB", "Enskild firma", "Ekonomisk förening", "SE"),
    "NO": ("AS", "ASA", "ANS", "DA", "ENK", "NUF", "SA", "KS", "SE"),
    "FI": ("Oy", "Oyj", "Ky", "Ay", "Tmi", "Osk", "SE"),
    "ES": ("S.L.", "S.L.U.", "S.A.", "S.A.U.", "S.C.", "S.Coop.", "S.L.L.", "S.A.L.",
           "Autónomo", "C.B.", "SE"),
    "DK": ("ApS", "A/S", "I/S", "IVS", "P/S", "K/S", "SMBA", "AMBA", "Enkeltmandsvirksomhed",
           "SE"),
}

# every form once, for reading a form off the end of a name
LEGAL_FORMS = tuple(dict.fromkeys(f for forms in FORMS_BY_COUNTRY.values() for f in forms))


def _normal(text: str) -> str:
    return re.sub(r"[\s.]", "", text).casefold()


_BY_NORMAL = sorted(((_normal(form), form) for form in LEGAL_FORMS), key=lambda p: -len(p[0]))
_NORMAL_BY_COUNTRY = {country: frozenset(map(_normal, forms))
                      for country, forms in FORMS_BY_COUNTRY.items()}


def forms_of(country: str) -> tuple[str, ...]:
    """The legal forms of ``country`` (empty for a country the kit has no list for)."""
    return FORMS_BY_COUNTRY.get(country, ())


def is_legal_form(form: str, country: str) -> bool:
    """Whether ``form`` is one of ``country``'s legal forms, however it is spelled."""
    return _normal(form) in _NORMAL_BY_COUNTRY.get(country, frozenset())


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
