"""Collecting the local provider's invoices: receivables and their charges, dunning steps,
hand-overs to collection, payments and imported bank transactions."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.ledger.models.base import Base, utcnow

if TYPE_CHECKING:
    from core.ledger.models.orders import Invoice

__all__ = [
    "BankTransactionRecord",
    "Charge",
    "DunningStep",
    "HandoverBatch",
    "Owed",
    "Payment",
    "Receivable",
]


class Owed:
    """What is owed on a receivable, from its ``gross``, ``credited``, ``paid`` and its
    ``charges`` (each with ``open``): for the model below and the dunning tick's plain rows
    (:mod:`core.receivables.rows`)."""

    __slots__ = ()

    @property
    def open_amount(self) -> int:
        """The principal still open: invoiced, less credit notes and payments."""
        return self.gross - self.credited - self.paid  # type: ignore[attr-defined]

    @property
    def charges_open(self) -> int:
        """The charges claimed (fee, interest) not yet paid or waived."""
        return sum(charge.open for charge in self.charges)  # type: ignore[attr-defined]

    @property
    def owed(self) -> int:
        """What the buyer still owes on this invoice: principal and charges."""
        return self.open_amount + self.charges_open


class Receivable(Owed, Base):
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
