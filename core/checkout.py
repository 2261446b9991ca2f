"""Checkout sessions: orders the buyer confirms in the provider's widget at the checkout.

Billie asks online checkouts to let the buyer confirm in its widget: the shop's checkout
opens a session (:func:`open_session`), the buyer confirms in the widget, the shop confirms
the session for its new order (:func:`confirm_session`) and the provider creates the order.
When the order's webhook arrives, its placement adopts that order
(``OrderContext.checkout``, :func:`authorised_for`) instead of creating another. Shops
without a checkout component keep the placement's ``POST orders``.

No transaction is open while the provider is called; what it answered is stored after.

Shops whose checkout cannot show the widget (Shopware's app) send the buyer to a page the
kit serves instead (:mod:`webhooks.checkout_page`): :func:`open_page` opens the session
for the shop's order and keeps it under a random token (its SHA-256 only), with where the
buyer goes back to; :func:`page` reads it for the page, :func:`confirm_page` confirms it
with the widget's answer, and :func:`payment_state` tells the shop what came of it.
:func:`open_page` runs in the caller's transaction (the shop's pay request, like its
eligibility decision), so the provider is asked with it open.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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

__all__ = ["PAGE_LIFETIME", "Confirmed", "Conflict", "Page", "PageRequest", "Shop",
           "authorised_for", "confirm_page", "confirm_session", "open_page", "open_session",
           "page", "payment_state"]

# how long the kit's checkout page can be used (also no longer than the provider's session)
PAGE_LIFETIME = timedelta(hours=2)
NO_SUCH_PAGE = "no such checkout page, or it has expired"


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
        db.add(_kept(shop, session, now, expires_at=session.expires_at))
    return session


def _kept(shop: Shop, session: CheckoutSession, now: datetime,
          **more: Any) -> ProviderCheckout:
    """The ledger's record of a session the provider just opened for ``shop``."""
    return ProviderCheckout(connection_id=shop.connection_id, provider=shop.provider,
                            session_id=session.session_id, state="open", opened_at=now,
                            **more)


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


# -- the kit's own checkout page ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The shop's order a checkout page is opened for.

    :ivar order_number: the shop's order number (the placement finds the session by it).
    :ivar shop_reference: the shop's id of the payment (Shopware's order transaction id).
    :ivar return_url: where the buyer goes when done (Shopware's ``returnUrl``).
    """

    order_number: str
    shop_reference: str
    return_url: str


@dataclass(frozen=True, slots=True)
class Page:
    """A kept checkout page: the session, its state, the widget and where the buyer goes."""

    session_id: str
    provider: str
    state: str
    widget: Mapping[str, Any]
    return_url: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """A provider's time as an aware one (naive: UTC); the ledger's are aware already."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def open_page(ledger: Ledger, hooks: Hooks, shop: Shop, cart: CheckoutCart,
              request: PageRequest, now: datetime) -> str | None:
    """Open the provider's session for the shop's order and keep it for the kit's checkout
    page; the page's token (``/checkout/<token>``), or ``None`` when the shop's provider has
    no widget (nothing is kept). The provider's errors pass on."""
    session = hooks.open_checkout(shop.provider, shop.settings, cart)
    if session is None:
        return None
    token = secrets.token_urlsafe(32)
    expires = now + PAGE_LIFETIME
    if session.expires_at is not None:
        expires = min(expires, _aware(session.expires_at))
    ledger.session.add(_kept(
        shop, session, now, expires_at=expires,
        order_number=request.order_number, shop_reference=request.shop_reference,
        token_hash=token_hash(token),
        page={"widget": dict(session.widget), "return_url": request.return_url,
              "currency": cart.currency, "amount": cart.amount, "tax": cart.tax}))
    ledger.session.flush()
    return token


def _by_token(db: Session, token: str, now: datetime) -> ProviderCheckout | None:
    if not token or len(token) > 128:
        return None
    row = db.scalars(select(ProviderCheckout).where(
        ProviderCheckout.token_hash == token_hash(token))).first()
    if row is None or row.page is None or row.order_number is None or (
            row.expires_at is not None and row.expires_at <= now):
        return None
    return row


def page(engine: Engine, token: str, now: datetime) -> Page | None:
    """The checkout page of ``token``; ``None`` when there is none or it expired."""
    with session_scope(engine, write=False) as db:
        row = _by_token(db, token, now)
        if row is None:
            return None
        assert row.page is not None
        return Page(row.session_id, row.provider, row.state, row.page["widget"],
                    row.page["return_url"])


def confirm_page(engine: Engine, hooks: Hooks, token: str, answer: Mapping[str, Any],
                 now: datetime) -> tuple[Confirmed, str]:
    """Confirm the page's session for its order with what the widget answered
    (:func:`confirm_session`); the answer and where the buyer goes. :class:`NotFound` for
    an unknown or expired token."""
    with session_scope(engine, write=False) as db:
        row = _by_token(db, token, now)
        if row is None:
            raise NotFound(NO_SUCH_PAGE)
        assert row.page is not None and row.order_number is not None
        shop = Shop.of(db.get_one(ShopConnection, row.connection_id))
        kept = row.page
        confirmation = CheckoutConfirmation(
            session_id=row.session_id, shop=shop.name, order_number=row.order_number,
            currency=kept["currency"], amount=kept["amount"], tax=kept["tax"], answer=answer)
    return confirm_session(engine, hooks, shop, confirmation, now), kept["return_url"]


def payment_state(ledger: Ledger, connection_id: int,
                  shop_reference: str) -> tuple[str, str | None] | None:
    """The state of the newest page opened for the shop's payment (``open``, ``approved``,
    ``declined``) and the provider's reason of a decline; ``None`` when none was opened."""
    row = ledger.session.scalars(
        select(ProviderCheckout).where(ProviderCheckout.connection_id == connection_id,
                                       ProviderCheckout.shop_reference == shop_reference)
        .order_by(ProviderCheckout.id.desc())).first()
    if row is None:
        return None
    return row.state, row.decline_reason
