"""What the core decides to do: operations, refusals, and their idempotency keys."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from core.money import Amount

__all__ = [
    "Authorisation",
    "Decision",
    "Operation",
    "OperationKind",
    "OperationLine",
    "OperationResult",
    "Refusal",
    "idempotency_key",
    "rates_from_json",
    "rates_to_json",
]


class OperationKind(StrEnum):
    """The order operations; each has one provider hook (see :mod:`core.hookspecs`)."""

    PLACEMENT = "placement"
    ACTIVATION = "activation"
    FULL_CREDIT = "full_credit"
    PARTIAL_CREDIT = "partial_credit"
    DISCOUNT_TRANSFER = "discount_transfer"
    RETURN = "return"


@dataclass(frozen=True, slots=True)
class OperationLine:
    """Units of one order line an operation covers, and their gross value in minor units."""

    line_id: str
    quantity: int
    amount: int
    article: bool = True


RateAmounts = tuple[tuple[Decimal, Amount], ...]


@dataclass(frozen=True, slots=True)
class Operation:
    """One provider effect, decided by :func:`core.reconcile.reconcile`.

    ``amount`` is the sum of ``by_rate``, the amount per tax rate (percent → gross, net, tax),
    which is what invoices and credit notes show. ``after_activation`` tells a provider whether
    the order has an invoice yet (a full credit before activation voids the authorisation;
    after it, a credit note is issued). The ``*_after`` and ``refund_id`` fields are what the
    ledger remembers once the operation succeeded, so that the same change is never decided
    twice.
    """

    kind: OperationKind
    amount: Amount
    by_rate: RateAmounts
    idempotency_key: str
    source: str
    after_activation: bool
    lines: tuple[OperationLine, ...] = ()
    refund_id: str | None = None
    discount_total_after: int | None = None
    order_total_after: int | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """A change the core will not pass on (an increase of an existing order or invoice)."""

    reason: str
    amount: int
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of reconciling one snapshot: operations in order, and refusals."""

    operations: tuple[Operation, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    stale: bool = False


@dataclass(frozen=True, slots=True)
class OperationResult:
    """What a provider reports back for a successful operation."""

    provider_reference: str | None = None
    document_number: str | None = None
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Authorisation(OperationResult):
    """The provider's answer to a placement: approved, or declined with a machine reason."""

    approved: bool = True
    decline_reason: str | None = None


def idempotency_key(shop: str, order_id: str, source: str) -> str:
    """Deterministic key of one change of one order (``activation``, ``refund:<id>``,
    ``discount:<total>``…): the same change always gets the same key, whatever amount or
    operation kind it is decided with, so a retry can never become a second effect."""
    text = json.dumps([shop, order_id, source], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def rates_to_json(by_rate: RateAmounts) -> list[list[str | int]]:
    """Amounts per tax rate as JSON: ``[["19", gross, net, tax], …]``."""
    return [[str(rate), a.gross, a.net, a.tax] for rate, a in by_rate]


def rates_from_json(data: list[list[str | int]]) -> RateAmounts:
    return tuple((Decimal(str(rate)), Amount(int(g), int(n), int(t))) for rate, g, n, t in data)
