"""The rules of the law on what an unpaid invoice may cost its buyer (Germany, B2B).

* **Default** (§ 286 BGB): the buyer is in default from the day after it received a
  reminder sent after the due date, and at the latest 31 days after the due date (30 days
  after due date and receipt of the invoice). Before that no fee and no interest are owed,
  so reminders before the due date never carry any.
* **Interest** (§ 288(2) BGB): the base rate + 9 points a year, from the first day of
  default, counted per day on the open amount (actual days / 365). The base rate (§ 247)
  changes on 1 January and 1 July; the table holds the published rates, and days of a half
  year the table does not know carry no interest (the kit never states an amount it
  cannot prove) until the operator adds the rate (``[dunning.base_rates]``).
* **Flat fee** (§ 288(5) BGB): 40 EUR per invoice (an installment has its own invoice)
  once the buyer is in default.

For merchants outside Germany the kit charges neither fee nor interest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from core.errors import ConfigurationError

__all__ = ["BASE_RATES", "Charges", "GermanLaw", "default_on"]

log = logging.getLogger(__name__)

# Deutsche Bundesbank, § 247 BGB: 1.27 % since 2025-07-01, unchanged on 2026-01-01.
BASE_RATES: Mapping[date, Decimal] = {
    date(2025, 7, 1): Decimal("1.27"),
    date(2026, 1, 1): Decimal("1.27"),
}
SURCHARGE = Decimal(9)  # points above the base rate between businesses, § 288(2)
FLAT_FEE = {"EUR": 4000}  # § 288(5), in minor units
DAYS_WITHOUT_REMINDER = 30  # § 286(3)


def default_on(due_on: date, reminders: Iterable[date]) -> date:
    """The first day of default: the day after the first reminder dated after the due date,
    or the 31st day after the due date, whichever is earlier."""
    latest = due_on + timedelta(days=DAYS_WITHOUT_REMINDER + 1)
    after_due = [day + timedelta(days=1) for day in reminders if day > due_on]
    return min([latest, *after_due])


@dataclass(frozen=True, slots=True)
class Charges:
    """What default adds to the open amount on a given day."""

    fee: int = 0
    interest: int = 0
    interest_rate: Decimal | None = None  # percent a year, on the notice's day
    interest_from: date | None = None


def _half_year(day: date) -> date:
    return date(day.year, 1 if day.month < 7 else 7, 1)


class GermanLaw:
    """Fees and interest for a merchant in Germany, from a dated base-rate table."""

    def __init__(self, extra_rates: Mapping[str, object] | None = None) -> None:
        rates = dict(BASE_RATES)
        for key, value in (extra_rates or {}).items():
            try:
                day, rate = date.fromisoformat(key), Decimal(str(value))
            except ValueError:
                raise ConfigurationError(f"[dunning.base_rates] {key!r} must be a date "
                                         "(YYYY-01-01 or YYYY-07-01) = a percent") from None
            if (day.month, day.day) not in ((1, 1), (7, 1)):
                raise ConfigurationError(f"[dunning.base_rates] {key}: the base rate "
                                         "changes on 1 January and 1 July only")
            rates[day] = rate
        self.rates = rates

    def base_rate(self, day: date) -> Decimal | None:
        """The base rate on ``day``, or ``None`` when the table lacks its half year."""
        return self.rates.get(_half_year(day))

    def charges(self, *, principal: int, currency: str, in_default_from: date,
                on: date) -> Charges:
        """Fee and interest owed on ``on`` by a buyer in default from ``in_default_from``;
        interest counts the days before ``on``."""
        if on <= in_default_from or principal <= 0:
            return Charges()
        interest = Decimal(0)
        missing: set[date] = set()
        day = in_default_from
        while day < on:
            period_end = min(on, _next_half_year(day))
            base = self.base_rate(day)
            if base is None:
                missing.add(_half_year(day))
            else:
                days = (period_end - day).days
                interest += Decimal(principal) * (base + SURCHARGE) / 100 * days / 365
            day = period_end
        if missing:
            log.warning("no base rate for %s in the table: no interest is charged for those "
                        "days; add it under [dunning.base_rates]",
                        ", ".join(sorted(d.isoformat() for d in missing)))
        rate = self.base_rate(on - timedelta(days=1))
        return Charges(
            fee=FLAT_FEE.get(currency, 0),
            interest=int(interest.quantize(Decimal(1), rounding=ROUND_HALF_UP)),
            interest_rate=None if rate is None else rate + SURCHARGE,
            interest_from=in_default_from,
        )


def _next_half_year(day: date) -> date:
    return date(day.year, 7, 1) if day.month < 7 else date(day.year + 1, 1, 1)

