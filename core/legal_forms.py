"""Legal forms of companies in the invoice countries, per country, and read from a name.

Shops rarely ask for the legal form; it is usually the end of the company name
("Muster Bürobedarf GmbH"). The risk engine checks that a form is one of the buyer
country's; comparison ignores case, spaces, dots and accents ("bv" is "B.V.").
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["FORMS_BY_COUNTRY", "LEGAL_FORMS", "forms_of", "guess_legal_form", "is_legal_form"]

FORMS_BY_COUNTRY: dict[str, tuple[str, ...]] = {
    "DE": ("GmbH", "GmbH & Co. KG", "GmbH & Co. OHG", "UG (haftungsbeschränkt)", "UG",
           "gGmbH", "gUG", "AG", "KGaA", "KG", "OHG", "GbR", "PartG", "PartG mbB", "e.K.",
           "e.Kfm.", "e.Kfr.", "e.V.", "eG", "SE", "Stiftung", "Einzelunternehmen"),
    "AT": ("GmbH", "Ges.m.b.H.", "GmbH & Co. KG", "FlexCo", "FlexKapG", "AG", "KG", "OG",
           "GesbR", "e.U.", "eGen", "SE", "Privatstiftung", "Verein", "Einzelunternehmen"),
    "FR": ("SAS", "SASU", "SARL", "EURL", "SA", "SNC", "SCS", "SCA", "SCI", "SCM", "SCOP",
           "SELARL", "SELAS", "GIE", "EARL", "GAEC", "SE", "EI", "EIRL", "Association"),
    "NL": ("B.V.", "N.V.", "V.O.F.", "C.V.", "Eenmanszaak", "Maatschap", "Stichting",
           "Vereniging", "Coöperatie", "U.A.", "SE"),
    "SE": ("AB", "AB (publ)", "HB", "KB", "Enskild firma", "Ekonomisk förening", "SE"),
    "NO": ("AS", "ASA", "ANS", "DA", "ENK", "NUF", "SA", "BA", "KS", "IKS", "SF", "SE"),
    "FI": ("Oy", "Oyj", "Ky", "Ay", "Tmi", "Osk", "Ab", "Abp", "Kb", "SE"),
    "ES": ("S.L.", "S.L.U.", "S.R.L.", "S.L.N.E.", "S.A.", "S.A.U.", "S.C.", "S.Com.",
           "S.Coop.", "S.L.L.", "S.A.L.", "S.A.T.", "A.I.E.", "C.B.", "Autónomo", "SE"),
    "DK": ("ApS", "A/S", "I/S", "IVS", "P/S", "K/S", "SMBA", "AMBA", "FMBA",
           "Enkeltmandsvirksomhed", "SE"),
}

# every form once, for reading a form off the end of a name
LEGAL_FORMS = tuple(dict.fromkeys(f for forms in FORMS_BY_COUNTRY.values() for f in forms))


def _normal(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\s.]", "", plain).casefold()


_BY_NORMAL = sorted(((_normal(form), form) for form in LEGAL_FORMS), key=lambda p: -len(p[0]))
_NORMAL_BY_COUNTRY = {country: frozenset(map(_normal, forms))
                      for country, forms in FORMS_BY_COUNTRY.items()}
# "AG & Co. KGaA", "UG (haftungsbeschränkt) & Co. KG": a form as partner of a partnership
_AND_CO = re.compile(r"(.+)(?:&|und|u)co(kgaa|kg|ohg|og)")


def forms_of(country: str) -> tuple[str, ...]:
    """The legal forms of ``country`` (empty for a country the kit has no list for)."""
    return FORMS_BY_COUNTRY.get(country, ())


def is_legal_form(form: str, country: str) -> bool:
    """Whether ``form`` is one of ``country``'s legal forms, however it is spelled."""
    known = _NORMAL_BY_COUNTRY.get(country, frozenset())
    normal = _normal(form)
    compound = _AND_CO.fullmatch(normal)
    return normal in known or bool(compound and set(compound.groups()) <= known)


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
