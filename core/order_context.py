"""The :class:`~core.context.OrderContext` a hook gets for an order, built from the ledger."""

from __future__ import annotations

from core.checkout import authorised_for
from core.context import OrderContext
from core.ledger.models import Order, ShopConnection
from core.ledger.store import Ledger
from core.snapshot import OrderSnapshot
from core.state import OrderState

__all__ = ["order_context"]


def order_context(ledger: Ledger, order: Order, connection: ShopConnection,
                  snapshot: OrderSnapshot, state: OrderState) -> OrderContext:
    """What the hooks are told of ``order``: its snapshot and state, the provider's settings
    (the connection's over the merchant's), its invoices and, until it is placed, the
    checkout session it may adopt."""
    return OrderContext(
        order_key=order.id, merchant_id=connection.merchant_id, shop=connection.name,
        provider=order.provider, snapshot=snapshot, state=state,
        provider_reference=order.provider_reference,
        settings={**connection.merchant.provider_settings, **connection.provider_settings},
        invoices=ledger.invoice_references(order),
        checkout=None if order.provider_reference else  # placed: nothing to adopt
        authorised_for(ledger, connection.id, order.provider, snapshot.order_number),
    )
