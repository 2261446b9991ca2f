"""The risk engine's settings: the instance's policy and each merchant's terms.

The **policy** is the operator's, for the whole instance (a buyer's credit limit is shared
by all merchants): the first limit, how it grows after on-time payments and shrinks after
a hand-over, and the EUR rates of other currencies. It lives in the ledger (one row, set
with ``invoicekit risk policy``) so that every process sees the same.

The **terms** are each merchant's contract over the product defaults (cart 50.00 to
19,999.00 EUR, nine countries): other cart limits or countries, what an unverifiable
company means, the online VIES check, and whether only listed products may be sold on
invoice. Stored on the merchant (``invoicekit merchants terms``).

Non-EUR amounts are converted to EUR at the policy's rate (units of the currency per
1 EUR), at full decimal precision and never rounded before a comparison; a currency without
a rate is not offered invoice payment (``currency_not_supported``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import ConfigurationError
from core.ledger.models import Merchant, RiskPolicyRecord
from core.ledger.store import Ledger
from core.money import exponent, is_known_currency, to_minor

__all__ = ["COUNTRIES", "RiskPolicy", "Terms", "load_policy", "save_policy", "terms_of",
           "to_eur"]

COUNTRIES = ("AT", "DE", "DK", "ES", "FI", "FR", "NL", "NO", "SE")
UNKNOWN_POLICIES = ("approve", "decline")


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """Credit limits in EUR cents; ``grow_percent`` after ``grow_after`` invoices paid on
    time in a row, never above ``limit_cap``; ``shrink_percent`` off after a hand-over."""

    initial_limit: int = 2_000_000
    grow_after: int = 3
    grow_percent: Decimal = Decimal(20)
    limit_cap: int = 10_000_000
    shrink_percent: Decimal = Decimal(50)
    eur_rates: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.initial_limit <= 0 or self.limit_cap < self.initial_limit:
            raise ConfigurationError("the initial limit must be positive and the cap at "
                                     "least as high")
        if self.grow_after < 1:
            raise ConfigurationError("grow_after must be at least 1 payment")
        if not (0 <= self.grow_percent <= 1000 and 0 <= self.shrink_percent <= 100):
            raise ConfigurationError("grow_percent must be 0 to 1000, shrink_percent 0 to 100")
        for currency, rate in self.eur_rates.items():
            if not is_known_currency(currency) or currency == "EUR" or rate <= 0:
                raise ConfigurationError(f"EUR rate of {currency}: must be a positive number "
                                         "of units per 1 EUR for an ISO 4217 currency")

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["grow_percent"] = str(self.grow_percent)
        values["shrink_percent"] = str(self.shrink_percent)
        values["eur_rates"] = {k: str(v) for k, v in self.eur_rates.items()}
        return values

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> RiskPolicy:
        try:
            return cls(**{**values,
                          "grow_percent": Decimal(values.get("grow_percent", cls.grow_percent)),
                          "shrink_percent": Decimal(values.get("shrink_percent",
                                                               cls.shrink_percent)),
                          "eur_rates": {k: Decimal(v)
                                        for k, v in values.get("eur_rates", {}).items()}})
        except (TypeError, InvalidOperation) as exc:
            raise ConfigurationError(f"risk policy: {exc}") from None


def load_policy(ledger: Ledger) -> RiskPolicy:
    """The instance's policy (the defaults until an operator sets one)."""
    record = ledger.session.get(RiskPolicyRecord, 1)
    return RiskPolicy.from_json(record.settings) if record else RiskPolicy()


def save_policy(ledger: Ledger, policy: RiskPolicy) -> None:
    record = ledger.session.get(RiskPolicyRecord, 1)
    if record is None:
        ledger.session.add(RiskPolicyRecord(id=1, settings=policy.to_json()))
    else:
        record.settings = policy.to_json()
    ledger.session.flush()


def to_eur(amount: int, currency: str, policy: RiskPolicy) -> Decimal | None:
    """``amount`` minor units of ``currency`` as EUR cents (exact), or ``None`` without a
    rate for the currency."""
    if currency == "EUR":
        return Decimal(amount)
    rate = policy.eur_rates.get(currency)
    if rate is None:
        return None
    return Decimal(amount).scaleb(2 - exponent(currency)) / rate


@dataclass(frozen=True, slots=True)
class Terms:
    """A merchant's eligibility terms; cart limits in EUR cents."""

    minimum: int = to_minor("50.00", "EUR")
    maximum: int = to_minor("19999.00", "EUR")
    countries: tuple[str, ...] = COUNTRIES
    on_unknown: str = "approve"  # a company no register could confirm: approve or decline
    vies: bool = False  # ask the EU's VIES service online (format and check digits always)
    vies_timeout: float = 3.0
    listed_products_only: bool = False  # only SKUs listed as approved may go on invoice
    credit_limits: bool = True  # per-buyer credit limits and the credit assessment
    excluded_business_types: tuple[str, ...] = ()  # declined as ``business_type_excluded``

    def __post_init__(self) -> None:
        if not 0 < self.minimum <= self.maximum:
            raise ConfigurationError("the cart minimum must be positive and not above the "
                                     "maximum")
        if not self.countries or any(len(c) != 2 or not c.isalpha() or not c.isupper()
                                     for c in self.countries):
            raise ConfigurationError("countries must be ISO 3166 codes such as DE, AT")
        if self.on_unknown not in UNKNOWN_POLICIES:
            raise ConfigurationError(f"on_unknown must be one of {', '.join(UNKNOWN_POLICIES)}")
        if not 0 < self.vies_timeout <= 30:
            raise ConfigurationError("vies_timeout must be 0 to 30 seconds")

    def changes(self) -> dict[str, Any]:
        """What differs from the defaults, as stored on the merchant."""
        default = Terms()
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in asdict(self).items() if value != getattr(default, name)}

    def with_changes(self, **changes: Any) -> Terms:
        if "countries" in changes:
            changes["countries"] = tuple(sorted({c.upper() for c in changes["countries"]}))
        if "excluded_business_types" in changes:
            changes["excluded_business_types"] = tuple(sorted(
                {t.strip().casefold() for t in changes["excluded_business_types"]}))
        return replace(self, **changes)


def terms_of(merchant: Merchant) -> Terms:
    """The merchant's terms: the defaults overlaid by its stored changes."""
    return Terms().with_changes(**dict(merchant.risk_terms or {}))
