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
    Index,
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
    "ApiKey",
    "BankTransactionRecord",
    "Base",
    "Buyer",
    "Charge",
    "CheckoutDecision",
    "CreditProfile",
    "Delivery",
    "DunningStep",
    "HandoverBatch",
    "Invoice",
    "LimitChange",
    "Merchant",
    "Movement",
    "OperationRecord",
    "Order",
    "OrderDrift",
    "OrderLine",
    "OrderRefund",
    "Payment",
    "PeriodicRun",
    "Product",
    "Receivable",
    "RefusalRecord",
    "RiskPolicyRecord",
    "ShopConnection",
    "ShopSync",
    "User",
    "WriteBackRecord",
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


class Receivable(Base):
    """What one invoice of the local provider still asks of its buyer, and where its
    dunning stands.

    ``status``: ``open`` (dunning runs), ``settled`` (paid or credited in full), ``stopped``
    (by the merchant, or a dispute: ``stop_reason``), ``handed_over`` (to the collection
    partner), ``cancelling`` / ``cancelled`` (the order is being, or was, cancelled as
    unpaid). ``next_step_on`` is the day the daily tick looks at it again (``None`` once it
    is no longer open): the tick reads only the receivables due, through its index.
    ``purchased_on`` and ``issued_on`` are the days the policy's steps count from; for an
    installment they move with the installment's period.
    """

    __tablename__ = "receivables"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"))
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(Integer, ForeignKey("invoices.id"), unique=True)
    installment: Mapped[int | None] = mapped_column(Integer)
    installments: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    gross: Mapped[int]
    credited: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)
    purchased_on: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    default_on: Mapped[date | None] = mapped_column(Date)
    next_step_on: Mapped[date | None] = mapped_column(Date, index=True)
    handover_batch_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("handover_batches.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    invoice: Mapped[Invoice] = relationship()
    steps: Mapped[list[DunningStep]] = relationship(order_by="DunningStep.id")
    charges: Mapped[list[Charge]] = relationship(order_by="Charge.kind")

    @property
    def open_amount(self) -> int:
        """The principal still open: invoiced, less credit notes and payments."""
        return self.gross - self.credited - self.paid

    @property
    def charges_open(self) -> int:
        """The charges claimed (fee, interest) not yet paid or waived."""
        return sum(charge.open for charge in self.charges)

    @property
    def owed(self) -> int:
        """What the buyer still owes on this invoice: principal and charges."""
        return self.open_amount + self.charges_open


class Charge(Base):
    """What default adds to an invoice and a notice (or the hand-over) claimed from the
    buyer, a receivable of its own: ``kind`` ``fee`` (the flat fee) or ``interest``.

    ``claimed`` grows with each notice that states more; payments go to charges before the
    principal (``paid``); ``waived`` is what the merchant let go, on ``waived_on``, after
    which no more of the kind is claimed.
    """

    __tablename__ = "charges"
    __table_args__ = (UniqueConstraint("receivable_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receivable_id: Mapped[int] = mapped_column(Integer, ForeignKey("receivables.id"),
                                               index=True)
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    claimed: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)
    waived: Mapped[int] = mapped_column(default=0)
    waived_on: Mapped[date | None] = mapped_column(Date)
    waive_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def open(self) -> int:
        return self.claimed - self.paid - self.waived


class DunningStep(Base):
    """A step of the policy taken (or skipped) for a receivable, at most once each.

    ``status``: ``skipped``; ``to_send`` (its notice is decided, with its amounts in
    ``notice``, and waits to be delivered); ``done``. A call task is ``open`` until its
    ``outcome`` is recorded.
    """

    __tablename__ = "dunning_steps"
    __table_args__ = (UniqueConstraint("receivable_id", "step_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receivable_id: Mapped[int] = mapped_column(Integer, ForeignKey("receivables.id"))
    step_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    scheduled_on: Mapped[date] = mapped_column(Date)
    taken_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    notice: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    delivered_to: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HandoverBatch(Base):
    """The claims of one merchant handed over to collection by one tick; ``delivered_to``
    says where the ``handover_to_collection`` hook put them (``None`` until it did)."""

    __tablename__ = "handover_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"))
    created_on: Mapped[date] = mapped_column(Date)
    delivered_to: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Payment(Base):
    """Money the buyer paid towards an invoice, once per ``idempotency_key``: towards its
    ``principal``, or a charge (``fee``, ``interest``)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"))
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), index=True)
    receivable_id: Mapped[int] = mapped_column(Integer, ForeignKey("receivables.id"),
                                               index=True)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    part: Mapped[str] = mapped_column(String(16), default="principal",
                                      server_default="principal")
    booked_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(140))
    source: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    transaction_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("bank_transactions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    receivable: Mapped[Receivable] = relationship()


class BankTransactionRecord(Base):
    """A transaction of an imported bank statement file, stored once per ``key`` (a digest
    of :attr:`core.payments.transactions.BankTransaction.key`).

    ``status``: ``booked`` (matched and booked as payments: ``matched_by`` says how),
    ``proposed`` (``proposed_order_id`` waits for the merchant's confirmation),
    ``unmatched``, ``ignored`` (a debit that is no payment of a buyer) or ``reversed``
    (booked, then returned by the bank: ``reversed_by_id``). What a transfer paid beyond
    the buyer's open invoices is ``to_credit``, the buyer's credit.
    """

    __tablename__ = "bank_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    account_iban: Mapped[str] = mapped_column(String(34))
    credited_iban: Mapped[str | None] = mapped_column(String(34))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    credit: Mapped[bool] = mapped_column(Boolean)
    reversal: Mapped[bool] = mapped_column(Boolean)
    booked_on: Mapped[date] = mapped_column(Date)
    value_on: Mapped[date | None] = mapped_column(Date)
    debtor_name: Mapped[str | None] = mapped_column(String(140))
    debtor_iban: Mapped[str | None] = mapped_column(String(34))
    remittance: Mapped[str] = mapped_column(Text)
    creditor_reference: Mapped[str | None] = mapped_column(String(35))
    end_to_end_id: Mapped[str | None] = mapped_column(String(35), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    matched_by: Mapped[str | None] = mapped_column(String(16))
    merchant_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("merchants.id"))
    buyer_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("buyers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("orders.id"))
    proposed_order_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("orders.id"))
    to_credit: Mapped[int] = mapped_column(default=0)
    reversed_by_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("bank_transactions.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class WriteBackRecord(Base):
    """What the kit tells a shop about one of its orders (the write-back outbox).

    Stored in the transaction that records what it reports, then sent by the queue through
    the platform plugin's :func:`~core.hookspecs.write_back`: ``pending`` → ``sending``
    (``claimed_at``) → ``done`` (``result``), or ``retrying`` (``next_attempt_at``) and in the
    end ``dead`` with ``error``, replayable. ``uncertain`` marks an attempt whose outcome is
    unknown (a timeout): the plugin checks before it writes a note again. ``note`` is fixed
    when the event happens; ``values`` are the machine-readable fields written with it.
    """

    __tablename__ = "writebacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"))
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    connection: Mapped[ShopConnection] = relationship()
    order: Mapped[Order] = relationship()


class ShopSync(Base):
    """One reconciliation poll of a shop: the orders modified from ``since`` to ``until``
    that were read, how many were fed through the inbox, and the drift found between the
    shop and the ledger (``drift``: one entry per order). The next poll starts at the last
    finished one's ``until``."""

    __tablename__ = "shop_syncs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"),
                                               index=True)
    since: Mapped[datetime]
    until: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    orders_read: Mapped[int] = mapped_column(Integer, default=0)
    fed: Mapped[int] = mapped_column(Integer, default=0)
    drift: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)


class OrderDrift(Base):
    """A lasting difference between a shop's order and the ledger, found by comparing the
    shop's current order with the ledger (``core.sync.drift``): after a delivery was
    processed, and on every poll. ``key`` names it within the order (``kind``, or
    ``kind:<refund id>``); ``shop`` and ``kit`` say each side. It stays open (reported on
    every poll) until the two agree (``resolved_at``) or the merchant acknowledges it
    (``acknowledged_at``); a change of either side opens a new one. ``seen`` counts the
    comparisons that found it."""

    __tablename__ = "order_drift"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, ForeignKey("shop_connections.id"))
    shop_order_id: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(96))
    kind: Mapped[str] = mapped_column(String(32))
    shop: Mapped[str] = mapped_column(String(255))
    kit: Mapped[str | None] = mapped_column(String(255))
    seen: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


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


class ApiKey(Base):
    """A merchant's key for the HTTP API. Only a SHA-256 of the secret is stored (keys are
    random, 256 bits: a slow password hash would add nothing); ``prefix`` finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class User(Base):
    """A merchant's user of the back office. ``password_hash`` is werkzeug's (scrypt);
    ``failed_sign_ins`` in a row lock the account until ``locked_until``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# the expiry of authorisations reads open orders by age
Index("ix_orders_status_created_at", Order.status, Order.created_at)
# the drift of an order, and the open drift of a shop
Index("ix_order_drift_connection_id_shop_order_id", OrderDrift.connection_id,
      OrderDrift.shop_order_id)
