"""What a hook is told about an order, a shop platform or a provider."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.operations import OperationKind
from core.snapshot import OrderSnapshot
from core.state import OrderState

__all__ = ["AppResponse", "OrderContext", "ParsedDelivery", "PlatformInfo", "ProviderInfo"]


@dataclass(frozen=True, slots=True)
class OrderContext:
    """One order as the provider hooks see it.

    :ivar order_key: the ledger's id of the order.
    :ivar merchant_id: the merchant's id (the ``3333`` in ``BP1234567/3333``).
    :ivar shop: the shop connection's name.
    :ivar provider: the provider that owns the order; a provider hook returns ``None`` for
        any other.
    :ivar snapshot: the newest snapshot of the order.
    :ivar state: the ledger state before the operation.
    :ivar provider_reference: what the provider answered on placement (its order id).
    :ivar settings: the connection's provider settings (credentials stay out of logs).
    """

    order_key: int
    merchant_id: int
    shop: str
    provider: str
    snapshot: OrderSnapshot
    state: OrderState
    provider_reference: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlatformInfo:
    """A shop platform plugin's declaration.

    :ivar name: the platform name in webhook URLs (``/webhooks/<name>/<shop>``).
    :ivar capabilities: the operations this platform's deliveries can trigger; full credit is
        always among them. The back office offers what a platform cannot deliver.
    :ivar status_map: the default mapping of shop status words to ``activate``/``cancel``.
    :ivar new_secret: makes a webhook secret in the form the platform's signatures need
        (default: 32 random URL-safe bytes).
    :ivar check_secret: raises ``ValueError`` naming what is wrong with a secret the merchant
        typed in, where the platform needs a particular form.
    :ivar registers_itself: the shop gets its secret through an app registration
        (Shopware), so the kit must not make one up.
    """

    name: str
    capabilities: frozenset[OperationKind]
    status_map: Mapping[str, str] = field(default_factory=dict)
    new_secret: Callable[[], str] | None = None
    check_secret: Callable[[str], None] | None = None
    registers_itself: bool = False


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A provider plugin's declaration: its name and the operations it implements."""

    name: str
    operations: frozenset[OperationKind]


@dataclass(frozen=True, slots=True)
class ParsedDelivery:
    """A verified delivery read by its platform plugin.

    :ivar dedupe_key: identical for redeliveries of the same content or event (at most 64
        characters); the receiver stores one delivery per key and shop.
    :ivar topic: the platform's event name (``order.updated``, ``checkout.order.placed``…).
    :ivar order_id: the shop's order id, when the delivery concerns one order.
    :ivar snapshots: the canonical snapshots it carries.
    :ivar ignored: why the delivery needs no processing (another payment method, a draft…);
        an ignored delivery is acknowledged and not stored.
    """

    dedupe_key: str
    topic: str
    order_id: str | None
    snapshots: tuple[OrderSnapshot, ...] = ()
    ignored: str | None = None


@dataclass(frozen=True, slots=True)
class AppResponse:
    """What the receiver answers to a platform's app lifecycle request."""

    status: int
    body: Mapping[str, Any]
