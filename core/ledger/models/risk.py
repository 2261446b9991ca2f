"""Eligibility and credit risk: products, the instance's risk policy, buyers' credit profiles
and their changes, decisions kept from a shop's checkout."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.ledger.models.base import Base, utcnow

__all__ = ["CheckoutDecision", "CreditProfile", "LimitChange", "Product", "ProviderCheckout",
           "RiskPolicyRecord"]


class Product(Base):
    """A product of a merchant as the risk rules see it: approved for invoice payment or
    not, and whether it has a trial period (never payable by invoice)."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("merchant_id", "sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255))
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    trial: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

class RiskPolicyRecord(Base):
    """The instance's credit-limit policy (one row, ``id`` 1; the defaults of
    :class:`core.risk.limits.LimitPolicy` while there is none). Amounts are EUR cents."""

    __tablename__ = "risk_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

class CreditProfile(Base):
    """A buyer's credit limit on the whole instance (all merchants), in EUR cents, keyed by
    the buyer's identity (:func:`core.risk.limits.identity_key`).
    ``on_time_streak`` counts invoices paid on time since the limit last grew."""

    __tablename__ = "credit_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyer_key: Mapped[str] = mapped_column(String(300), unique=True)
    limit: Mapped[int] = mapped_column(BigInteger)
    on_time_streak: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    changes: Mapped[list[LimitChange]] = relationship(order_by="LimitChange.id")

class LimitChange(Base):
    """Every change of a credit limit with its reason (opened, grew, shrank, set by hand)."""

    __tablename__ = "limit_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(Integer, ForeignKey("credit_profiles.id"),
                                            index=True)
    previous: Mapped[int | None] = mapped_column(BigInteger)
    limit: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

class CheckoutDecision(Base):
    """An eligibility decision made at a shop's checkout for an order the kit has not seen
    yet (Shopware's pay URL), kept for that order's placement: reused when the order comes
    with the same ``currency`` and ``total`` (minor units) within
    :data:`core.risk.kept.KEPT_FOR` of ``decided_at``. ``eligibility`` is the whole
    decision (:func:`core.risk.kept.to_record`)."""

    __tablename__ = "checkout_decisions"
    __table_args__ = (UniqueConstraint("connection_id", "shop_order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"))
    shop_order_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int]
    approved: Mapped[bool] = mapped_column(Boolean)
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProviderCheckout(Base):
    """A provider's checkout session opened for a shop's checkout (Billie's widget), and
    once the shop confirmed it for its order, the provider's order the placement adopts
    (:mod:`core.checkout`). ``state``: ``open``, ``approved`` or ``declined``; ``amount``
    and ``currency`` are what was confirmed (minor units).

    A session the kit shows on its own checkout page (``/checkout/<token>``, for Shopware's
    async payment) also keeps the SHA-256 of the page's token (``token_hash``), the shop's
    reference of the payment (``shop_reference``: Shopware's order transaction id), its
    ``order_number`` from the start, and in ``page`` what the page needs: the widget, the
    shop's ``return_url`` and the cart's ``currency``, ``amount`` and ``tax``."""

    __tablename__ = "provider_checkouts"
    __table_args__ = (UniqueConstraint("connection_id", "session_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"))
    provider: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="open")
    order_number: Mapped[str | None] = mapped_column(String(64), index=True)
    provider_reference: Mapped[str | None] = mapped_column(String(128))
    currency: Mapped[str | None] = mapped_column(String(3))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    decline_reason: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    shop_reference: Mapped[str | None] = mapped_column(String(64), index=True)
    page: Mapped[dict[str, Any] | None] = mapped_column(JSON)
