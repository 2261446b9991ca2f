"""The canonical order snapshot every shop plugin produces.

A snapshot is *state*, not a command: the whole order as the shop saw it at ``ordering_key``.
Amounts are integer minor units of ``currency``; line amounts are after line discounts, so
``total`` is the sum of all lines (products, shipping, fees) within the shop's rounding.
Build one with :func:`core.schemas.load_snapshot` to get it validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "Buyer",
    "Discount",
    "Line",
    "LineKind",
    "OrderSnapshot",
    "Refund",
    "RefundLine",
]


class LineKind(StrEnum):
    """What an order line is: an article, shipping, or a fee (fees may be negative)."""

    PRODUCT = "product"
    SHIPPING = "shipping"
    FEE = "fee"


@dataclass(frozen=True, slots=True)
class Buyer:
    """The business buyer as entered at checkout."""

    company: str
    legal_form: str | None
    vat_id: str | None
    first_name: str | None
    last_name: str | None
    email: str
    street: str
    postcode: str
    city: str
    country: str  # ISO 3166-1 alpha-2, upper case
    address_2: str | None = None
    language: str | None = None  # ISO 639-1, lower case: the language of reminders
    phone: str | None = None  # as the buyer typed it: for the after-sales call
    # the buyer's reference for its invoices (BT-10): a public buyer's Leitweg-ID
    buyer_reference: str | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """One order line; totals in minor units after line discounts.

    ``unit_gross``/``unit_net`` are derived: a line of 3 at 10.00 total has a unit price of
    3.3333…, which is why totals, not unit prices, are what the kit stores and splits.
    ``shipped`` is how many units the shop has shipped so far (``None``: the shop does not
    say); units shipped beyond those invoiced are invoiced on their own (partial activation).
    """

    line_id: str
    kind: LineKind
    name: str
    quantity: int
    net: int
    tax: int
    gross: int
    tax_rate: Decimal  # percent, e.g. Decimal("19")
    sku: str | None = None
    shipped: int | None = None

    @property
    def unit_gross(self) -> Decimal:
        return Decimal(self.gross) / self.quantity if self.quantity else Decimal(0)

    @property
    def unit_net(self) -> Decimal:
        return Decimal(self.net) / self.quantity if self.quantity else Decimal(0)


@dataclass(frozen=True, slots=True)
class Discount:
    """A discount (coupon, rebate) the shop applied; ``amount`` is gross, positive."""

    code: str
    amount: int


@dataclass(frozen=True, slots=True)
class RefundLine:
    """Which line a refund covered, when the shop says so: ``quantity`` units of it, or with
    quantity 0 an ``amount`` of it and no units (part of its price, or the shipping alone)."""

    line_id: str
    quantity: int
    amount: int
    tax: int | None = None  # the tax in ``amount`` at the line's rate, when the shop says


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund the shop recorded; ``amount`` is gross and positive.

    ``lines`` is ``None`` when the shop did not say which lines were refunded (an
    amount-only refund) and a tuple when it did (a return of those quantities).
    """

    refund_id: str
    amount: int
    lines: tuple[RefundLine, ...] | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """The whole order as one shop saw it at one moment.

    ``status`` is the shop's own status word (``completed``, ``shipped``…); the shop
    connection's status map decides whether it activates or cancels. ``cancelled`` and
    ``returned`` are facts the plugin derived (the order was cancelled; every article came
    back). ``ordering_key`` orders snapshots of one order: one with an older key is stale.
    ``installments`` is the number of installments the buyer chose (one invoice each).
    """

    shop: str
    order_id: str
    order_number: str
    currency: str
    buyer: Buyer
    lines: tuple[Line, ...]
    total: int
    total_tax: int
    status: str
    ordering_key: datetime
    discounts: tuple[Discount, ...] = ()
    refunds: tuple[Refund, ...] = ()
    cancelled: bool = False
    returned: bool = False
    placed_at: datetime | None = None
    installments: int = 1  # the buyer pays in this many installments, one invoice each

    @property
    def discount_total(self) -> int:
        return sum(d.amount for d in self.discounts)

    @property
    def refund_total(self) -> int:
        return sum(r.amount for r in self.refunds)

    @property
    def products(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.kind is LineKind.PRODUCT)
