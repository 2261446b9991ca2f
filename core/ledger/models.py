"""The ledger's tables (SQLAlchemy 2). Money columns are integer minor units.

Every change to this module needs an Alembic revision in ``migrations/versions``; a test
compares the models with the migrated schema.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
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


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, int: BigInteger}


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
    buyer_key: Mapped[str] = mapped_column(String(300))
    company: Mapped[str] = mapped_column(String(255))
    country: Mapped[str] = mapped_column(String(2))
    virtual_iban: Mapped[str] = mapped_column(String(34), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    """An order as the ledger knows it (see :class:`core.state.OrderState`)."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("connection_id", "shop_order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"))
    shop_order_id: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(32))
    buyer_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("buyers.id"))
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
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    invoice_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("invoices.id"))


class Movement(Base):
    """One row of the movements journal that statements read: every provider effect.

    ``amount`` is signed from the buyer's side: an invoice adds to what is owed, a credit
    note or void subtracts.
    """

    __tablename__ = "movements"
    __table_args__ = (UniqueConstraint("idempotency_key", "kind"),)

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
