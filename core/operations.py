"""What the core decides to do: operations, refusals, and their idempotency keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class Operation:
    """One provider effect, decided by :func:`core.reconcile.reconcile`.

    ``after_activation`` tells a provider whether the order has an invoice yet (a full credit
    before activation voids the authorisation; after it, a credit note is issued). The
    ``*_after`` and ``refund_id`` fields are what the ledger remembers once the operation
    succeeded, so that the same change is never decided twice.
    """

    kind: OperationKind
    amount: Amount
    idempotency_key: str
    source: str
    after_activation: bool
    lines: tuple[OperationLine, ...] = ()
    refund_id: str | None = None
    discount_total_after: int | None = None
    order_total_after: int | None = None
    note: str | None = None


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


def idempotency_key(shop: str, order_id: str, kind: OperationKind, source: str,
                    amount_minor: int) -> str:
    """Deterministic key of one operation: the same change always gets the same key."""
    text = "|".join((shop, order_id, kind.value, source, str(amount_minor)))
    return hashlib.sha256(text.encode()).hexdigest()
