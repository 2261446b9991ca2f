"""What the core decides to do: operations, refusals, and their idempotency keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core.money import Amount

__all__ = [
    "Authorisation",
    "Decision",
    "Lookup",
    "Operation",
    "OperationKind",
    "OperationLine",
    "OperationResult",
    "Refusal",
    "document_key",
    "idempotency_key",
    "rates_from_json",
    "rates_of_lines",
    "rates_to_json",
    "total_of",
]


class OperationKind(StrEnum):
    """The order operations; each has one provider hook (see :mod:`core.hookspecs`)."""

    PLACEMENT = "placement"
    ACTIVATION = "activation"
    FULL_CREDIT = "full_credit"
    PARTIAL_CREDIT = "partial_credit"
    DISCOUNT_TRANSFER = "discount_transfer"
    RETURN = "return"
    INCREASE = "increase"


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
    which is what invoices and credit notes show. ``after_activation`` tells a provider which
    part of the order a reduction takes from: ``True``, an invoice (a credit note is issued);
    ``False``, the authorisation not yet invoiced (it is lowered, or voided by a full credit),
    also on an order partly invoiced already. On an activation it says whether the order has
    an invoice already: an order shipped in parts is activated once per shipment, for the
    units in ``lines``. The ``*_after`` and ``refund_id`` fields are what the ledger remembers
    once the operation succeeded, so that the same change is never decided twice
    (``refund_id`` of the first of a refund's two parts is a mark of its progress, see
    :mod:`core.reconcile`).
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
    """What a provider reports back for a successful operation; ``details`` are for
    observers (the local provider's activation gives the payment blocks there)."""

    provider_reference: str | None = None
    document_number: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Authorisation(OperationResult):
    """The provider's answer to a placement: approved, or declined with a machine reason."""

    approved: bool = True
    decline_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a provider's state says about an operation whose outcome was unknown: ``applied``
    with the result it had, or not applied (then the call is repeated)."""

    applied: bool
    result: OperationResult | None = None


def idempotency_key(shop: str, order_id: str, kind: OperationKind, source: str,
                    gross: int) -> str:
    """Deterministic key of one operation: shop, order, operation kind, the change it comes
    from (``activation``, ``refund:<id>``, ``discount:<total>``…) and its amount. The same
    decision always gets the same key; a failed operation is retried from its stored record,
    key and all, so a retry can never become a second effect."""
    text = json.dumps([shop, order_id, kind.value, source, gross], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def document_key(key: str, n: int) -> str:
    """The key of the ``n``-th document (from 0) one operation makes (installment invoices,
    credit notes against several invoices): the operation's own key for the first, then a
    digest of it and the document's place."""
    return key if n == 0 else hashlib.sha256(f"{key}:{n}".encode()).hexdigest()


def rates_of_lines(lines: Iterable[tuple[Decimal, Amount]]) -> RateAmounts:
    """Amounts summed per tax rate, sorted by rate; rates that sum to nothing dropped."""
    by_rate: dict[Decimal, Amount] = {}
    for rate, amount in lines:
        by_rate[rate] = by_rate.get(rate, Amount.zero()) + amount
    return tuple(sorted((rate, a) for rate, a in by_rate.items() if a != Amount.zero()))


def total_of(by_rate: RateAmounts) -> Amount:
    """The sum of amounts per tax rate."""
    total = Amount.zero()
    for _, amount in by_rate:
        total = total + amount
    return total


def rates_to_json(by_rate: RateAmounts) -> list[list[str | int]]:
    """Amounts per tax rate as JSON: ``[["19", gross, net, tax], …]``."""
    return [[str(rate), a.gross, a.net, a.tax] for rate, a in by_rate]


def rates_from_json(data: list[list[str | int]]) -> RateAmounts:
    return tuple((Decimal(str(rate)), Amount(int(g), int(n), int(t))) for rate, g, n, t in data)
