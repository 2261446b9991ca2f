"""Hook implementations of the Mondu provider and of the ``mondu`` webhook platform.

Provider hooks answer only for orders whose provider is ``mondu``; they run outside any
transaction (``ledger`` is ``None`` for remote providers) and call Mondu's API v1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core import hookimpl
from core.context import OrderContext, ParsedDelivery, PlatformInfo, ProviderInfo
from core.operations import Authorisation, Lookup, Operation, OperationKind, OperationResult
from plugins.mondu import operations, webhook

NAME = "mondu"


def _mine(order: OrderContext) -> bool:
    return order.provider == NAME


@hookimpl
def declare_provider() -> ProviderInfo:
    # every kind but increases: before an invoice by adjust/cancel, after one by credit
    # notes; whether Mondu's adjust accepts a higher amount is not documented, so increases
    # are refused as for the local provider. No idempotency header: lookup_operation
    return ProviderInfo(NAME, frozenset(OperationKind) - {OperationKind.INCREASE}, remote=True,
                        idempotency_keys=False)


@hookimpl
def place_order(order: OrderContext, operation: Operation) -> Authorisation | None:
    return operations.place(order, operation) if _mine(order) else None


@hookimpl
def activate_order(order: OrderContext, operation: Operation) -> OperationResult | None:
    return operations.activate(order, operation) if _mine(order) else None


@hookimpl
def credit_full(order: OrderContext, operation: Operation) -> OperationResult | None:
    return operations.reduce(order, operation) if _mine(order) else None


@hookimpl
def credit_partial(order: OrderContext, operation: Operation) -> OperationResult | None:
    return operations.reduce(order, operation) if _mine(order) else None


@hookimpl
def transfer_discount(order: OrderContext, operation: Operation) -> OperationResult | None:
    return operations.reduce(order, operation) if _mine(order) else None


@hookimpl
def handle_return(order: OrderContext, operation: Operation) -> OperationResult | None:
    return operations.reduce(order, operation) if _mine(order) else None


@hookimpl
def lookup_operation(order: OrderContext, operation: Operation) -> Lookup | None:
    return operations.lookup(order, operation) if _mine(order) else None


# -- Mondu's webhooks -------------------------------------------------------------------


@hookimpl
def declare_platform() -> PlatformInfo:
    return PlatformInfo(name=NAME, capabilities=frozenset(), status_map={},
                        check_secret=webhook.check_secret)


@hookimpl
def is_ping(platform: str) -> bool | None:
    return False if platform == NAME else None


@hookimpl
def verify_delivery(platform: str, body: bytes, headers: Mapping[str, str],
                    secrets: Sequence[str]) -> bool | None:
    if platform != NAME:
        return None
    webhook.verify(body, headers, secrets)
    return True


@hookimpl
def parse_delivery(platform: str, body: bytes,
                   settings: Mapping[str, Any]) -> ParsedDelivery | None:
    if platform != NAME:
        return None
    return webhook.parse(body, settings)
