"""Which e-invoice a buyer gets: the merchant's setting and the buyer's reference decide.

The setting (``invoicekit merchants configure --einvoice …``) lives in the merchant's
``seller`` JSON column under the key ``einvoice`` (no migration; it sits with the other
e-invoice details of the merchant, see :mod:`core.einvoice.seller`):

* ``auto`` (the default): an **XRechnung** XML for a public buyer, recognised by a
  Leitweg-ID as its buyer reference (BT-10), a **ZUGFeRD** PDF for everyone else;
* ``zugferd``, ``xrechnung``: that format for every buyer;
* ``both``: the ZUGFeRD PDF and the XRechnung XML.

:func:`format_for` is the one place that decides; the CLI, the back office, the download
link, the write-back and the invoice e-mail all ask it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.errors import ConfigurationError

__all__ = ["FILES", "FORMATS", "SETTINGS", "buyer_reference", "einvoice_setting",
           "files_for", "format_for", "is_leitweg_id", "set_einvoice_setting"]

SETTINGS = ("auto", "zugferd", "xrechnung", "both")
FORMATS = ("zugferd", "xrechnung", "both")  # what format_for answers
# the files of each format: the XRechnung is the XML, the ZUGFeRD the PDF with it inside
FILES = {"xrechnung": ("xml",), "zugferd": ("pdf",), "both": ("pdf", "xml")}
KEY = "einvoice"
# a Leitweg-ID (KoSIT): coarse addressing (2 to 12 digits), optional fine addressing (up to
# 30 letters or digits), two check digits, joined by hyphens, e.g. 04011000-1234512345-06
_LEITWEG = re.compile(r"\d{2,12}(-[A-Za-z0-9]{1,30})?-\d{2}")


def is_leitweg_id(value: str | None) -> bool:
    """Whether ``value`` has the form of a Leitweg-ID and its check digits (ISO 7064
    MOD 97-10 over the ID with letters as numbers, as for an IBAN) are right."""
    if not value or not _LEITWEG.fullmatch(value.strip()):
        return False
    compact = value.strip().replace("-", "").upper()
    digits = "".join(str(int(c, 36)) for c in compact)
    return int(digits) % 97 == 1


def einvoice_setting(merchant: Any) -> str:
    """The merchant's setting: ``auto`` unless it chose another."""
    value = (merchant.seller or {}).get(KEY)
    return value if value in SETTINGS else "auto"


def set_einvoice_setting(merchant: Any, value: str) -> None:
    """Store the merchant's setting (``auto`` removes the key: the default)."""
    if value not in SETTINGS:
        raise ConfigurationError(f"--einvoice: {value!r} is none of {', '.join(SETTINGS)}")
    seller = {k: v for k, v in (merchant.seller or {}).items() if k != KEY}
    if value != "auto":
        seller[KEY] = value
    merchant.seller = seller  # a new dict: the JSON column sees the change


def buyer_reference(snapshot: Any) -> str | None:
    """The buyer's reference (BT-10) of an order snapshot, a :class:`OrderSnapshot` or its
    stored JSON form."""
    if isinstance(snapshot, Mapping):
        buyer = snapshot.get("buyer") or {}
        return buyer.get("buyer_reference") if isinstance(buyer, Mapping) else None
    buyer = getattr(snapshot, "buyer", None)
    return getattr(buyer, "buyer_reference", None)


def format_for(merchant: Any, snapshot: Any) -> str:
    """The e-invoice the buyer of ``snapshot`` gets from ``merchant``: ``xrechnung``,
    ``zugferd`` or ``both`` (see the module docstring)."""
    setting = einvoice_setting(merchant)
    if setting != "auto":
        return setting
    return "xrechnung" if is_leitweg_id(buyer_reference(snapshot)) else "zugferd"


def files_for(fmt: str) -> tuple[str, ...]:
    """The file kinds (``pdf``, ``xml``) of a format, the main one first."""
    return FILES[fmt]
