"""Hook implementations of the Billie provider and of the ``billie`` webhook platform.

Provider hooks answer only for orders whose provider is ``billie``; they run outside any
transaction (``ledger`` is ``None`` for remote providers) and call Billie's API v2.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from core import hookimpl
from core.context import (
    CheckoutCart,
    CheckoutConfirmation,
    CheckoutSession,
    OrderContext,
    ParsedDelivery,
    PlatformInfo,
    ProviderInfo,
)
from core.errors import InvoicekitError
from core.operations import Authorisation, Lookup, Operation, OperationKind, OperationResult
from plugins.billie import checkout, client, operations, webhook
from plugins.billie.settings import read_settings
from plugins.billie.views import OrderView, UnreadableAnswer

NAME = "billie"
log = logging.getLogger(__name__)


def _mine(order: OrderContext) -> bool:
    return order.provider == NAME


@hookimpl
def declare_provider() -> ProviderInfo:
    return ProviderInfo(NAME, frozenset(OperationKind), remote=True, idempotency_keys=False,
                        increases=True)


@hookimpl
def place_order(order: OrderContext, operation: Operation) -> Authorisation | None:
    return operations.place(order, operation) if _mine(order) else None


@hookimpl
def activate_order(order: OrderContext, operation: Operation) -> OperationResult | None:
    if not _mine(order):
        return None
    return with_invoice_details(order, operations.activate(order, operation))


def with_invoice_details(order: OrderContext, result: OperationResult) -> OperationResult:
    """The activation's result with what the merchant and the shop are told of the new
    invoice: Billie's invoice number, due date and the account the buyer pays to, read from
    Billie's order (``POST invoices`` answers only the uuid). The invoice exists already, so
    a failed read costs only these details (they are logged), never the activation."""
    if not order.provider_reference or not result.provider_reference:
        return result
    try:
        data = client.get(read_settings(order.settings),
                          client.path("orders", order.provider_reference))
        details = OrderView.read(data, order.snapshot.currency).invoice_details(
            result.provider_reference)
    except (InvoicekitError, UnreadableAnswer) as exc:
        log.warning("Billie invoice %s: its details could not be read (%s)",
                    result.provider_reference, exc)
        return result
    return replace(result, details={**result.details, **details})


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


# -- the checkout widget ----------------------------------------------------------------


@hookimpl
def open_checkout(provider: str, settings: Mapping[str, Any],
                  cart: CheckoutCart) -> CheckoutSession | None:
    if provider != NAME:
        return None
    checked = read_settings(settings)
    return checkout.open_session(checked, checked.merchant_name or cart.shop, cart)


@hookimpl
def confirm_checkout(provider: str, settings: Mapping[str, Any],
                     confirmation: CheckoutConfirmation) -> Authorisation | None:
    return checkout.confirm(read_settings(settings), confirmation) if provider == NAME \
        else None


# -- Billie's webhooks ------------------------------------------------------------------


@hookimpl
def declare_platform() -> PlatformInfo:
    return PlatformInfo(name=NAME, capabilities=frozenset(), status_map={},
                        new_secret=webhook.new_key, check_secret=webhook.check_key)


@hookimpl
def is_ping(platform: str) -> bool | None:
    return False if platform == NAME else None


@hookimpl
def verify_delivery(platform: str, headers: Mapping[str, str],
                    secrets: Sequence[str]) -> bool | None:
    if platform != NAME:
        return None
    webhook.verify(headers, secrets)
    return True


@hookimpl
def parse_delivery(platform: str, body: bytes,
                   settings: Mapping[str, Any]) -> ParsedDelivery | None:
    if platform != NAME:
        return None
    return webhook.parse(body, settings)
