"""Checkout sessions: orders the buyer confirms in the provider's widget at the checkout.

Billie asks online checkouts to let the buyer confirm in its widget: the shop's checkout
opens a session (:func:`open_session`), the buyer confirms in the widget, the shop confirms
the session for its new order (:func:`confirm_session`) and the provider creates the order.
When the order's webhook arrives, its placement adopts that order
(``OrderContext.checkout``, :func:`authorised_for`) instead of creating another. Shops
without a checkout component keep the placement's ``POST orders``.

No transaction is open while the provider is called; what it answered is stored after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.context import AuthorisedCheckout, CheckoutCart, CheckoutConfirmation, CheckoutSession
from core.errors import InvoicekitError, NotFound
from core.hooks import Hooks
from core.ledger.db import session_scope
from core.ledger.models import ProviderCheckout, ShopConnection
from core.ledger.store import Ledger
from core.operations import Authorisation

__all__ = ["Confirmed", "Conflict", "Shop", "authorised_for", "confirm_session",
           "open_session"]


class Conflict(InvoicekitError):
    """The session was confirmed for another order."""


@dataclass(frozen=True, slots=True)
class Shop:
    """The shop a checkout belongs to, as read before the provider is called."""

    connection_id: int
    name: str
    provider: str
    settings: Mapping[str, Any]

    @classmethod
    def of(cls, connection: ShopConnection) -> Shop:
        """The provider settings are the merchant's, overlaid by the connection's."""
        return cls(connection.id, connection.name, connection.provider,
                   {**connection.merchant.provider_settings, **connection.provider_settings})


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What the shop is told about its confirmation (also when it asks again)."""

    provider: str
    approved: bool
    provider_reference: str | None
    reason: str | None

    @classmethod
    def of(cls, row: ProviderCheckout) -> Confirmed:
        return cls(row.provider, row.state == "approved", row.provider_reference,
                   row.decline_reason)

    def to_json(self) -> dict[str, object]:
        if self.approved:
            return {"decision": "approved", "provider": self.provider,
                    "provider_reference": self.provider_reference}
        return {"decision": "declined", "provider": self.provider,
                "reasons": [self.reason or "declined"]}


def open_session(engine: Engine, hooks: Hooks, shop: Shop, cart: CheckoutCart,
                 now: datetime) -> CheckoutSession | None:
    """Open the provider's checkout session for ``cart`` and keep it; ``None`` when the
    shop's provider has no widget (nothing is stored). The provider's errors pass on."""
    session = hooks.open_checkout(shop.provider, shop.settings, cart)
    if session is None:
        return None
    with session_scope(engine) as db:
        db.add(ProviderCheckout(connection_id=shop.connection_id, provider=shop.provider,
                                session_id=session.session_id, state="open", opened_at=now,
                                expires_at=session.expires_at))
    return session


def _row(db: Session, shop: Shop, session_id: str) -> ProviderCheckout:
    row = db.scalars(select(ProviderCheckout).where(
        ProviderCheckout.connection_id == shop.connection_id,
        ProviderCheckout.session_id == session_id)).first()
    if row is None:
        raise NotFound(f"shop {shop.name!r} has no checkout session {session_id!r}")
    return row


def _decided(row: ProviderCheckout, confirmation: CheckoutConfirmation) -> Confirmed:
    if row.order_number != confirmation.order_number:
        raise Conflict(f"checkout session {confirmation.session_id!r} was confirmed for "
                       f"order {row.order_number}")
    return Confirmed.of(row)


def confirm_session(engine: Engine, hooks: Hooks, shop: Shop,
                    confirmation: CheckoutConfirmation, now: datetime) -> Confirmed:
    """Confirm the session for the shop's order, once: asked again for the same order, the
    kept answer; for another order, :class:`Conflict`. No transaction is open while the
    provider is asked; its errors pass on and nothing is kept (the shop may ask again)."""
    with session_scope(engine, write=False) as db:
        row = _row(db, shop, confirmation.session_id)
        if row.state != "open":
            return _decided(row, confirmation)
        provider = row.provider
    authorisation: Authorisation = hooks.confirm_checkout(provider, shop.settings,
                                                          confirmation)
    with session_scope(engine) as db:
        row = _row(db, shop, confirmation.session_id)
        if row.state != "open":  # confirmed meanwhile by a concurrent request: that counts
            return _decided(row, confirmation)
        row.state = "approved" if authorisation.approved else "declined"
        row.order_number = confirmation.order_number
        row.provider_reference = authorisation.provider_reference
        row.decline_reason = None if authorisation.approved else \
            (authorisation.decline_reason or "declined")[:64]
        row.currency = confirmation.currency
        row.amount = confirmation.amount
        row.confirmed_at = now
        return Confirmed.of(row)


def authorised_for(ledger: Ledger, connection_id: int, provider: str,
                   order_number: str) -> AuthorisedCheckout | None:
    """The order ``provider`` authorised at the shop's checkout for ``order_number``, if any
    (the newest, should the shop have confirmed two sessions for one order number)."""
    row = ledger.session.scalars(
        select(ProviderCheckout).where(ProviderCheckout.connection_id == connection_id,
                                       ProviderCheckout.order_number == order_number,
                                       ProviderCheckout.provider == provider,
                                       ProviderCheckout.state == "approved")
        .order_by(ProviderCheckout.id.desc())).first()
    if row is None or row.provider_reference is None or row.amount is None:
        return None
    return AuthorisedCheckout(row.session_id, row.provider_reference, row.currency or "",
                              row.amount)
