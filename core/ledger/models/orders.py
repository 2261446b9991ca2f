"""The orders and what happened to them: merchants and their shop connections, buyers,
orders with their lines and refunds, provider operations and refusals, the local provider's
invoices, the movements journal, the webhook deliveries and the periodic runs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.ledger.models.base import Base, utcnow

__all__ = [
    "Buyer",
    "Delivery",
    "Invoice",
    "Merchant",
    "Movement",
    "OperationRecord",
    "Order",
    "OrderLine",
    "OrderRefund",
    "PeriodicRun",
    "RefusalRecord",
    "ShopConnection",
]


class Merchant(Base):
    """A merchant; its id appears in payment references (``BP<order>/<id>``)."""

    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255))
    country: Mapped[str] = mapped_column(String(2))
    payment_term_days: Mapped[int] = mapped_column(Integer, default=30)
    kyc_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    account_holder: Mapped[str] = mapped_column(String(70))
    bank_country: Mapped[str] = mapped_column(String(2))
    bank_code: Mapped[str] = mapped_column(String(16))
    bic: Mapped[str | None] = mapped_column(String(11))
    account_first: Mapped[int]
    account_last: Mapped[int]
    next_account: Mapped[int]
    invoice_prefix: Mapped[str] = mapped_column(String(16), default="INV-")
    next_invoice: Mapped[int] = mapped_column(Integer, default=1)
    next_credit_note: Mapped[int] = mapped_column(Integer, default=1)
    provider: Mapped[str] = mapped_column(String(32), default="local")
    provider_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    language: Mapped[str | None] = mapped_column(String(2))
    installment_interval_days: Mapped[int] = mapped_column(Integer, default=30,
                                                           server_default="30")
    # the dunning policy (see core.receivables.policy): None until the merchant chose or
    # the choice window closed; then who set it ("merchant" or "default") and when
    dunning_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dunning_policy_set_by: Mapped[str | None] = mapped_column(String(16))
    dunning_policy_set_at: Mapped[datetime | None]
    # the merchant's fee per order (percent of the invoiced gross) and the VAT on it
    fee_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("6.99"),
                                                 server_default="6.99")
    fee_vat_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0),
                                                     server_default="0")
    # invoices carry an ISO 11649 RF creditor reference besides ``BP<order>/<id>``
    rf_references: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # the merchant's own eligibility terms over the defaults (see core.risk.terms)
    risk_terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # the IANA time zone the back office shows the merchant's times in
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin",
                                           server_default="Europe/Berlin")
    # the seller details e-invoices need beyond the above (see core.einvoice.seller):
    # street, postcode, city, vat_id, tax_number, register, contact_name, phone, email…
    seller: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

class ShopConnection(Base):
    """One shop posting webhooks, its platform, provider and status mapping.

    ``external_id`` is the shop's own id on its platform (Shopware's shop id), for platforms
    that post every shop's events to one URL. ``secrets`` are newest first; the previous one
    stays valid until ``previous_secret_until`` (or until the next rotation, if unset).
    """

    __tablename__ = "shop_connections"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"))
    platform: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32), default="local")
    status_map: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    external_id: Mapped[str | None] = mapped_column(String(64))
    secrets: Mapped[list[str]] = mapped_column(JSON, default=list)
    previous_secret_until: Mapped[datetime | None]
    platform_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    provider_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    merchant: Mapped[Merchant] = relationship()

    def valid_secrets(self, now: datetime | None = None) -> list[str]:
        """The secrets signatures may use now: the newest, and the previous one while valid."""
        now = now or utcnow()
        if self.previous_secret_until is not None and now > self.previous_secret_until:
            return self.secrets[:1]
        return list(self.secrets[:2])

class Buyer(Base):
    """A business buyer of one merchant, with its own virtual IBAN for all its invoices."""

    __tablename__ = "buyers"
    __table_args__ = (UniqueConstraint("merchant_id", "buyer_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"))
    buyer_key: Mapped[str] = mapped_column(String(300), index=True)
    company: Mapped[str] = mapped_column(String(255))
    country: Mapped[str] = mapped_column(String(2))
    virtual_iban: Mapped[str] = mapped_column(String(34), unique=True)
    # what the buyer paid beyond its invoices and was not refunded yet (minor units)
    credit: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

class Order(Base):
    """An order as the ledger knows it (see :class:`core.state.OrderState`)."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("connection_id", "shop_order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"))
    shop_order_id: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(32))
    buyer_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("buyers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    authorised: Mapped[int] = mapped_column(default=0)
    reduced: Mapped[int] = mapped_column(default=0)
    activated: Mapped[int] = mapped_column(default=0)
    credited: Mapped[int] = mapped_column(default=0)
    total_seen: Mapped[int] = mapped_column(default=0)
    discount_seen: Mapped[int] = mapped_column(default=0)
    open_by_rate: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    unbilled_by_rate: Mapped[list[list[Any]] | None] = mapped_column(JSON)
    ordering_key: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(64))
    # the risk engine's decision at placement (core.risk.decide.Eligibility.to_json)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    provider_reference: Mapped[str | None] = mapped_column(String(128))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    connection: Mapped[ShopConnection] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id",
                                                  cascade="all, delete-orphan")
    refunds: Mapped[list[OrderRefund]] = relationship(cascade="all, delete-orphan")

class OrderLine(Base):
    """Per-line quantities: ordered, activated, cancelled, returned."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"))
    line_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    sku: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    gross: Mapped[int]
    ordered: Mapped[int] = mapped_column(Integer)
    activated: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)

class OrderRefund(Base):
    """A shop refund that has been passed on to the provider."""

    __tablename__ = "order_refunds"

    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), primary_key=True)
    refund_id: Mapped[str] = mapped_column(String(64), primary_key=True)

class OperationRecord(Base):
    """An operation decided for an order; its key is stored before the provider is called.

    ``status``: ``pending`` (decided), ``in_flight`` (a worker is calling the provider since
    ``claimed_at``), ``failed`` (to be retried), ``dead`` (until the merchant retries it) or
    ``succeeded``. ``uncertain`` says the last attempt may have taken effect (a timeout), so
    the provider's state is read before the call is repeated; a failed operation is not
    tried again before ``next_attempt_at`` (its backoff, or the provider's ``Retry-After``).
    """

    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    after_activation: Mapped[bool] = mapped_column(Boolean)
    gross: Mapped[int]
    net: Mapped[int]
    tax: Mapped[int]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    by_rate: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    marks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    provider_reference: Mapped[str | None] = mapped_column(String(128))
    document_number: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

class RefusalRecord(Base):
    """A change the core refused to pass on (an increase), shown to the merchant."""

    __tablename__ = "refusals"
    __table_args__ = (UniqueConstraint("order_id", "reason", "amount"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"))
    reason: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int]
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

class Invoice(Base):
    """An invoice or credit note issued by the local provider."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("merchant_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"))
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    gross: Mapped[int]
    net: Mapped[int]
    tax: Mapped[int]
    payment_reference: Mapped[str] = mapped_column(String(35))
    creditor_reference: Mapped[str | None] = mapped_column(String(25), index=True)
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    invoice_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("invoices.id"))

class Movement(Base):
    """One row of the movements journal that statements read: every provider effect.

    ``amount`` is signed from the buyer's side: an invoice adds to what is owed, a credit
    note or void subtracts.
    """

    __tablename__ = "movements"
    __table_args__ = (UniqueConstraint("idempotency_key", "kind"),
                      Index("ix_movements_merchant_id_occurred_at", "merchant_id",
                            "occurred_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"), index=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    document_number: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)

class Delivery(Base):
    """A webhook delivery as received: stored before the shop gets its 2xx, then processed.

    ``status`` is ``pending`` until the queue processed it, then ``done``; a transient failure
    makes it ``retrying`` (``next_attempt_at``), too many of them or a permanent one ``dead``
    with ``error``. Dead deliveries are listed and can be replayed.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("connection_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"))
    dedupe_key: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    shop_order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]

    connection: Mapped[ShopConnection] = relationship()

class PeriodicRun(Base):
    """When a periodic task (the queue's sweep, the daily tick) last started: every consumer's
    scheduler enqueues it, and only the run that moves this time forward goes ahead, so it
    runs once per schedule however many consumers there are."""

    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime]


# the expiry of authorisations reads open orders by age
Index("ix_orders_status_created_at", Order.status, Order.created_at)
