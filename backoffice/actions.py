"""Which of an order's actions apply to it now, and reading what the merchant typed into a
confirmation form: amounts in the merchant's notation, units, days.

One function, :func:`applicable`, decides from the order's state and balance which actions
the order page offers; the POST asks it again and refuses (409) one that does not apply, so
a stale page or a forged form changes nothing.

Amounts: the merchant's language decides the notation (``merchant.language``, else the
merchant's country): German and the other languages that write ``1.000,00`` read a comma
as the decimal separator and a point as the thousands separator; English (and a merchant
whose language and country say nothing else) reads ``1,000.00``. Either way ``10.5``,
``10,50`` and ``1000`` are read as written; a single separator followed by exactly three
digits (``1.000``, ``1,000``) is refused as ambiguous, as is a separator in the wrong place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.ledger.models import Delivery, Merchant, Order, Receivable
from core.ledger.store import Ledger
from core.money import money_text, to_minor

__all__ = ["ACTION_NAMES", "FormError", "applicable", "comma_decimal", "parse_amount",
           "parse_days", "parse_units"]

ACTION_NAMES = ("activate", "reduce", "return", "cancel", "retry", "stop-dunning",
                "resume-dunning", "extend")

# languages, and countries without a language set, that write 1.000,00
_COMMA_LANGUAGES = frozenset({"de", "fr", "nl", "es", "it", "pt", "da", "sv", "nb", "no",
                              "fi", "pl", "cs", "sk", "sl", "hr", "hu", "ro", "bg", "el",
                              "et", "lv", "lt", "tr", "ru", "uk", "id", "vi"})
_COMMA_COUNTRIES = frozenset({"DE", "AT", "CH", "LI", "LU", "BE", "FR", "NL", "ES", "IT",
                              "PT", "DK", "SE", "NO", "FI", "PL", "CZ", "SK", "SI", "HR",
                              "HU", "RO", "BG", "GR", "EE", "LV", "LT"})


class FormError(Exception):
    """What the merchant typed cannot be used: ``field`` and why (the form is shown again
    with the values typed and this message)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


# -- which actions apply ------------------------------------------------------------------


@dataclass(frozen=True)
class Applicable:
    """Per action: ``None`` when it applies, else why not (shown when refused)."""

    reasons: dict[str, str | None] = field(default_factory=dict)

    def offered(self) -> list[str]:
        return [name for name in ACTION_NAMES if self.reasons.get(name) is None]

    def why_not(self, action: str) -> str | None:
        return self.reasons.get(action, "no such action")


def applicable(ledger: Ledger, order: Order) -> Applicable:
    """Which actions apply to ``order`` now, from its state, its invoices' balance, its
    dead operations and deliveries, and its receivables."""
    state = ledger.state_of(order)
    status = state.status
    closed = None if status.is_open else f"the order is {status.value}"
    invoiced_units = sum(max(line.invoiced, 0) for line in state.lines.values())
    dead = any(r.status == "dead" for r in ledger.operations_of(order)) or \
        ledger.session.scalars(select(Delivery.id).where(
            Delivery.connection_id == order.connection_id,
            Delivery.shop_order_id == order.shop_order_id,
            Delivery.status == "dead").limit(1)).first() is not None
    receivables = list(ledger.session.scalars(select(Receivable).where(
        Receivable.order_id == order.id)))
    owing = [r for r in receivables if r.owed > 0]
    no_invoice = "the order has no open invoice of the local provider"

    def unless(*checks: tuple[bool, str]) -> str | None:
        return next((why for failed, why in checks if failed), None)

    return Applicable({
        "activate": closed or unless((state.unbilled <= 0, "everything is invoiced already")),
        "reduce": closed or unless((state.open_amount <= 0, "nothing is open to cancel")),
        "return": closed or unless((invoiced_units <= 0, "no units are invoiced to return")),
        "cancel": closed or unless((state.open_amount <= 0, "nothing is open to cancel")),
        "retry": unless((not dead, "the order has no dead operation or delivery")),
        "stop-dunning": unless(
            (not owing, no_invoice),
            (not any(r.status in ("open", "cancelling") for r in owing),
             "dunning is stopped already, or the claim is with the collection partner")),
        "resume-dunning": unless((not any(r.status == "stopped" for r in owing),
                                  "dunning is not stopped")),
        "extend": unless((not any(r.status in ("open", "stopped") for r in owing),
                          no_invoice)),
    })


def reducible(ledger: Ledger, order: Order) -> int:
    """What a partial cancellation can take at most: what is open at the provider."""
    return ledger.state_of(order).open_amount


# -- reading the form -----------------------------------------------------------------------


def comma_decimal(merchant: Merchant) -> bool:
    """Whether the merchant writes amounts as ``1.000,00`` (see the module's rule)."""
    if merchant.language:
        return merchant.language.lower() in _COMMA_LANGUAGES
    return (merchant.country or "").upper() in _COMMA_COUNTRIES


_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_amount(text: str, currency: str, *, comma: bool, field_name: str = "amount",
                 maximum: int | None = None) -> int:
    """The amount typed, in minor units of ``currency``, read in the merchant's notation;
    :class:`FormError` naming ``field_name`` for anything unclear or not a reduction."""
    example = "1.000,00" if comma else "1,000.00"
    raw = _SPACES.sub("", text.strip())
    if raw.startswith("-"):
        raise FormError(field_name, "only reductions are possible here; an increase of an "
                                    "invoice is refused (cancel and place a new order instead)")
    if not raw:
        raise FormError(field_name, f"type an amount such as {example}")
    if not re.fullmatch(r"\d[\d.,]*", raw) or raw[-1] in ".,":
        raise FormError(field_name, f"{text.strip()!r} is not an amount: type it as {example}")
    decimal_mark, group_mark = (",", ".") if comma else (".", ",")
    marks = [c for c in raw if c in ".,"]
    if len(set(marks)) == 1 and len(marks) == 1:
        whole, _, fraction = raw.partition(marks[0])
        if len(fraction) == 3:
            raise FormError(field_name, f"{text.strip()!r} is ambiguous (thousands or "
                                        f"decimals?): type it as {example} or without "
                                        "thousands separators")
        if len(fraction) > 3:
            raise FormError(field_name, f"{text.strip()!r} is not an amount: type it as "
                                        f"{example}")
        number = f"{whole}.{fraction}"
    else:
        whole, mark, fraction = raw.rpartition(decimal_mark)
        if not mark:
            whole, fraction = raw, ""
        groups = whole.split(group_mark)
        if decimal_mark in whole or (len(groups) > 1 and (
                not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]))) \
                or group_mark in fraction:
            raise FormError(field_name, f"{text.strip()!r} is not an amount in your "
                                        f"notation: type it as {example}")
        number = "".join(groups) + (f".{fraction}" if fraction else "")
    try:
        minor = to_minor(Decimal(number), currency)
    except (ArithmeticError, ValueError):
        raise FormError(field_name, f"{text.strip()!r} has more decimals than "
                                    f"{currency} has") from None
    if minor <= 0:
        raise FormError(field_name, "type an amount above zero")
    if maximum is not None and minor > maximum:
        raise FormError(field_name, f"at most {money_text(maximum, currency)} is open; "
                                    f"{money_text(minor, currency)} cannot be cancelled")
    return minor


def parse_units(form: Any, lines: dict[str, int] | None = None) -> dict[str, int]:
    """The units typed per line for a return (fields ``units-<line id>``); ``lines`` (line
    id → units the buyer still keeps) caps each."""
    units = {}
    for name, text in form.items():
        if name.startswith("units-") and text.strip():
            if not text.strip().isdigit():
                raise FormError(name, "type a whole number of units")
            line_id, count = name.removeprefix("units-"), int(text)
            if lines is not None and line_id in lines and count > lines[line_id]:
                raise FormError(name, f"at most {lines[line_id]} unit(s) of line {line_id} "
                                      "are left to come back")
            units[line_id] = count
    if not any(units.values()):
        raise FormError("units", "type how many units of a line come back")
    return units


def parse_days(text: str) -> int:
    """The days typed to extend the due date by: 1 to 90."""
    text = text.strip()
    if not text.isdigit() or not 1 <= int(text) <= 90:
        raise FormError("days", "type a number of days, 1 to 90")
    return int(text)
