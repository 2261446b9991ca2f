"""Where receivables are stored and changed: opened with each invoice, reduced by credit notes
and payments, stopped by the merchant or a dispute. The daily tick reads what is due."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import selectinload

from core.errors import ConfigurationError, NotFound
from core.ledger.models import Buyer, Charge, Invoice, Merchant, Order, Payment, Receivable
from core.ledger.store import Ledger
from core.receivables.charges import charge_of, split
from core.receivables.history import ENDED
from core.receivables.policy import FINAL_CHOICES, Policy, default_policy
from core.risk.limits import payment_settled
from core.writeback.notices import payment_notice

__all__ = ["CHOICE_WINDOW", "NO_PAYMENT", "Allocation", "Bookings", "apply_credit",
           "change_buyer_credit", "choose_policy", "extend_due_date", "named_first",
           "open_receivable", "owes", "pay", "payable", "payable_query", "policy_of",
           "receivables_of", "record_payment", "resume_dunning", "reverse_payments", "stop_dunning"]

CHOICE_WINDOW = timedelta(days=7)  # after the merchant's first invoice sale
PAID_FOR = {"principal": "payment", "fee": "flat fee paid", "interest": "default interest paid"}


def open_receivable(ledger: Ledger, invoice: Invoice, *, purchased_on: date,
                    installment: int | None = None, installments: int | None = None,
                    period: timedelta = timedelta(0)) -> Receivable:
    """The receivable of a new invoice; an installment's anchors move by ``period``
    (its place in the plan times the plan's interval), so each runs the same procedure."""
    receivable = Receivable(
        merchant_id=invoice.merchant_id, order_id=invoice.order_id, invoice_id=invoice.id,
        installment=installment, installments=installments, currency=invoice.currency,
        gross=invoice.gross, credited=0, paid=0, purchased_on=purchased_on + period,
        issued_on=invoice.issued_on + period, due_on=invoice.due_on, status="open",
        next_step_on=invoice.issued_on, charges=[])  # none yet: known without reading them
    ledger.session.add(receivable)
    ledger.session.flush()
    return receivable


def _settle_if_paid(receivable: Receivable) -> None:
    if receivable.owed <= 0 and receivable.status not in ENDED:
        receivable.status, receivable.next_step_on = "settled", None


def apply_credit(ledger: Ledger, invoice_id: int, gross: int, *, key: str) -> None:
    """A credit note of ``gross`` against an invoice lowers what its receivable asks; a full
    credit settles it (and ends its dunning). What the buyer had paid beyond what is left
    becomes the buyer's credit (journalled under the credit note's ``key``), to be paid
    back."""
    receivable = ledger.session.scalars(select(Receivable).where(
        Receivable.invoice_id == invoice_id).with_for_update()).one_or_none()
    if receivable is None:  # an invoice from before receivables were kept
        return
    receivable.credited += gross
    excess = min(receivable.paid, -receivable.open_amount)
    if excess > 0:
        receivable.paid -= excess
        buyer_id = ledger.session.scalar(select(Order.buyer_id).where(
            Order.id == receivable.order_id))
        buyer = ledger.session.scalars(select(Buyer).where(Buyer.id == buyer_id)
                                       .with_for_update()).one()
        change_buyer_credit(ledger, buyer, excess, order_id=receivable.order_id,
                            currency=receivable.currency, key=key, kind="buyer_credit",
                            description="paid for what a credit note took back")
    _settle_if_paid(receivable)


def receivables_of(ledger: Ledger, order: Order, *, for_update: bool = False,
                   ) -> list[Receivable]:
    """The order's receivables, the one due first first."""
    query = select(Receivable).where(Receivable.order_id == order.id) \
        .order_by(Receivable.due_on, Receivable.id)
    if for_update:
        query = query.with_for_update()
    return list(ledger.session.scalars(query))


@dataclass(frozen=True, slots=True)
class Allocation:
    receivable_id: int
    amount: int


NO_PAYMENT = ("cancelled", "cancelling")  # receivables that take no payment


def payable_query(*, charges: bool = True) -> Select[tuple[Receivable]]:
    """Receivables that owe principal or charges and take payment, the one due first
    first, with their charges (unless ``charges`` is false: the caller loads them),
    locked; narrow it to an order or buyers."""
    charged = select(Charge.receivable_id).where(
        Charge.claimed - Charge.paid - Charge.waived > 0)
    query = (select(Receivable)
             .where((Receivable.gross - Receivable.credited - Receivable.paid > 0)
                    | Receivable.id.in_(charged),
                    Receivable.status.not_in(NO_PAYMENT))
             .order_by(Receivable.due_on, Receivable.id)
             .with_for_update(of=Receivable))
    return query.options(selectinload(Receivable.charges)) if charges else query


def owes(receivable: Receivable) -> bool:
    """Whether a receivable already loaded is still one :func:`payable_query` selects, as
    the payments booked since left it."""
    return receivable.status not in NO_PAYMENT and (
        receivable.gross - receivable.credited - receivable.paid > 0
        or any(c.claimed - c.paid - c.waived > 0 for c in receivable.charges))


def named_first(receivables: Sequence[Receivable],
                first_order_ids: Sequence[int]) -> list[Receivable]:
    """The receivables of the orders ``first_order_ids`` first, each group as it was."""
    return sorted(receivables, key=lambda r: r.order_id not in first_order_ids)


def payable(ledger: Ledger, *, buyer_id: int | None = None, order_id: int | None = None,
            first_order_ids: Sequence[int] = ()) -> list[Receivable]:
    """What a payment can go to, locked: the receivables of one order, or of one buyer
    (those of the orders ``first_order_ids`` first), that owe
    principal or charges, each group the one due first first. A cancelled receivable takes
    no payment."""
    query = payable_query()
    if order_id is not None:
        query = query.where(Receivable.order_id == order_id)
    else:
        query = query.join(Order, Order.id == Receivable.order_id).where(
            Order.buyer_id == buyer_id)
    return named_first(ledger.session.scalars(query).all(), first_order_ids)


class Bookings:
    """Where :func:`pay` writes what it books: here, at once, row by row. A bulk import
    passes one that collects the rows and writes them per chunk
    (:class:`core.payments.chunk.ChunkBookings`); both get the same calls in the same
    order."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def touch(self, receivable: Receivable) -> None:
        """``receivable`` is about to take a payment (nothing to do here)."""

    def payment(self, values: dict[str, Any]) -> None:
        self.ledger.session.add(Payment(**values))

    def journal(self, **values: Any) -> None:
        self.ledger.journal(**values)

    def settled(self, receivable: Receivable, paid_on: date) -> None:
        # the buyer's credit limit grows with invoices paid on time
        payment_settled(self.ledger.session, receivable, paid_on)

    def paid(self, amounts: Sequence[tuple[int, int]], *, booked_on: date, key: str) -> None:
        self.ledger.session.flush()
        _tell_shops(self.ledger, amounts, booked_on=booked_on, reversal=False, key=key)

    def credit(self, buyer: Buyer, amount: int, *, order_id: int, currency: str, key: str,
               kind: str, description: str) -> None:
        change_buyer_credit(self.ledger, buyer, amount, order_id=order_id, currency=currency,
                            key=key, kind=kind, description=description)


def pay(ledger: Ledger, receivables: Sequence[Receivable], amount: int, *, booked_on: date,
        reference: str | None, source: str, key: str,
        transaction_id: int | None = None,
        bookings: Bookings | None = None) -> tuple[list[Allocation], int]:
    """Book ``amount`` against ``receivables`` in their order, each taking what it owes:
    its charges first, then its principal (:func:`core.receivables.charges.split`);
    returns the allocations and what is left over. A receivable paid in full is settled,
    which ends its dunning. Payments of the buyer to the merchant directly
    (``source="direct"``) are journalled as such: the statement deducts them.
    ``bookings``: where the payments, journal, settlements and shop notices go (default:
    written at once)."""
    bookings = bookings or Bookings(ledger)
    allocations, left = [], amount
    for n, receivable in enumerate(receivables):
        parts = split(receivable, left)
        if not parts:
            break
        bookings.touch(receivable)
        for part, charge, take in parts:
            part_key = f"{key}:{n}" if charge is None else f"{key}:{n}:{part}"
            bookings.payment(dict(
                merchant_id=receivable.merchant_id, order_id=receivable.order_id,
                receivable_id=receivable.id, amount=take, currency=receivable.currency,
                part=part, booked_on=booked_on, reference=reference, source=source,
                idempotency_key=part_key, transaction_id=transaction_id))
            if charge is None:
                receivable.paid += take
                kind = "direct_payment" if source == "direct" else "payment"
            else:
                charge.paid += take
                kind = "charge_payment"
            bookings.journal(merchant_id=receivable.merchant_id, order_id=receivable.order_id,
                             kind=kind, amount=-take, currency=receivable.currency,
                             idempotency_key=part_key,
                             description=f"{PAID_FOR[part]} {reference or ''}".strip(),
                             document_number=receivable.invoice.number)
        _settle_if_paid(receivable)
        if receivable.status == "settled":
            bookings.settled(receivable, booked_on)
        taken = sum(take for _, _, take in parts)
        allocations.append(Allocation(receivable.id, taken))
        left -= taken
    by_id = {r.id: r.order_id for r in receivables}
    bookings.paid([(by_id[a.receivable_id], a.amount) for a in allocations],
                  booked_on=booked_on, key=key)
    return allocations, left


def _tell_shops(ledger: Ledger, amounts: Sequence[tuple[int, int]], *, booked_on: date,
                reversal: bool, key: str) -> None:
    """Queue one write-back per order of what a payment (or its return) booked on it."""
    per_order: dict[int, int] = {}
    for order_id, amount in amounts:
        per_order[order_id] = per_order.get(order_id, 0) + amount
    for order_id, amount in per_order.items():
        order = ledger.session.get(Order, order_id)
        assert order is not None
        payment_notice(ledger, order, amount, booked_on=booked_on, reversal=reversal, key=key)


def record_payment(ledger: Ledger, order: Order, amount: int, *, booked_on: date,
                   reference: str | None, source: str, key: str) -> list[Allocation]:
    """Book a payment of the order's buyer once per ``key``: the open receivable due first
    takes it first. A payment that settles a receivable ends its dunning; more than is open
    is refused (to be refunded or booked by hand)."""
    if amount <= 0:
        raise ConfigurationError("a payment must be a positive amount")
    digest = hashlib.sha256(key.encode()).hexdigest()[:48]
    booked = list(ledger.session.scalars(select(Payment).where(
        Payment.idempotency_key.like(f"{digest}:%")).order_by(Payment.id)))
    if booked:  # booked before: the same allocations
        per_receivable: dict[int, int] = {}
        for p in booked:
            per_receivable[p.receivable_id] = per_receivable.get(p.receivable_id, 0) + p.amount
        return [Allocation(r, amount) for r, amount in per_receivable.items()]
    receivables = payable(ledger, order_id=order.id)
    owed = sum(r.owed for r in receivables)
    if amount > owed:
        raise ConfigurationError(
            f"the payment exceeds what order {order.shop_order_id} has open "
            f"({owed} minor units)")
    allocations, _ = pay(ledger, receivables, amount, booked_on=booked_on,
                         reference=reference, source=source, key=digest)
    return allocations


def reverse_payments(ledger: Ledger, payments: Sequence[Payment], *, booked_on: date,
                     key: str, transaction_id: int | None = None) -> int:
    """Undo ``payments`` (the bank returned the transfer): each is booked back, its
    receivable owes it again (principal or charge, as it was paid), and a receivable that
    was settled by it is open again, so its dunning goes on from ``booked_on`` with the
    steps not yet taken. Returns the amount reversed."""
    reversed_total = 0
    for n, payment in enumerate(payments):
        receivable = ledger.session.scalars(select(Receivable).where(
            Receivable.id == payment.receivable_id).with_for_update()).one()
        part_key = f"{key}:{n}"
        ledger.session.add(Payment(
            merchant_id=payment.merchant_id, order_id=payment.order_id,
            receivable_id=receivable.id, amount=-payment.amount, currency=payment.currency,
            part=payment.part, booked_on=booked_on, reference=payment.reference,
            source="reversal", idempotency_key=part_key, transaction_id=transaction_id))
        if payment.part == "principal":
            receivable.paid -= payment.amount
        else:
            charge_of(ledger, receivable, payment.part).paid -= payment.amount
        if receivable.status == "settled" and receivable.owed > 0:
            if receivable.stop_reason:  # its dunning was stopped: it stays stopped
                receivable.status = "stopped"
            else:
                receivable.status, receivable.next_step_on = "open", booked_on
        reversed_total += payment.amount
        ledger.journal(merchant_id=payment.merchant_id, order_id=payment.order_id,
                       kind="payment_reversal" if payment.part == "principal"
                       else "charge_payment_reversal", amount=payment.amount,
                       currency=payment.currency, idempotency_key=part_key,
                       description=f"payment returned by the bank {payment.reference or ''}"
                       .strip(), document_number=receivable.invoice.number)
    ledger.session.flush()
    _tell_shops(ledger, [(p.order_id, p.amount) for p in payments], booked_on=booked_on,
                reversal=True, key=key)
    return reversed_total


def change_buyer_credit(ledger: Ledger, buyer: Buyer, amount: int, *, order_id: int,
                        currency: str, key: str, kind: str, description: str) -> None:
    """Add ``amount`` (negative: take it away) to what the buyer has paid beyond its
    invoices, journalled on ``order_id``: ``buyer_credit`` for an over-payment (or its
    reversal), ``credit_refund`` for money paid back to the buyer."""
    # in the database, not from the row as read: concurrent imports and refunds add up
    ledger.session.execute(update(Buyer).where(Buyer.id == buyer.id)
                           .values(credit=Buyer.credit + amount)
                           .execution_options(synchronize_session=False))
    ledger.session.refresh(buyer, attribute_names=["credit"])
    ledger.journal(merchant_id=buyer.merchant_id, order_id=order_id, kind=kind,
                   amount=-amount, currency=currency, idempotency_key=key,
                   description=description)
    ledger.session.flush()


def stop_dunning(ledger: Ledger, order: Order, reason: str) -> int:
    """Stop receivables management for the order's open receivables (the merchant's wish,
    or a dispute), also a cancellation not yet carried out; receivables handed over stay
    with the collection partner. Returns how many stopped."""
    receivables = receivables_of(ledger, order, for_update=True)
    if not receivables:
        raise NotFound(f"order {order.shop_order_id} has no invoice of the local provider")
    if all(r.status == "handed_over" for r in receivables):
        raise ConfigurationError("the claim is handed over to the collection partner "
                                 "already; stop it there")
    stopped = 0
    for receivable in receivables:
        if receivable.status in ("open", "cancelling"):
            receivable.status, receivable.stop_reason = "stopped", reason
            receivable.next_step_on = None
            stopped += 1
    ledger.session.flush()
    return stopped


def resume_dunning(ledger: Ledger, order: Order) -> int:
    """Resume receivables management the merchant stopped for the order; the next daily
    run plans what is due. Returns how many receivables resumed."""
    resumed = 0
    for receivable in receivables_of(ledger, order, for_update=True):
        if receivable.status == "stopped" and receivable.owed > 0:
            receivable.status, receivable.stop_reason = "open", None
            receivable.next_step_on = datetime.now(UTC).date()
            resumed += 1
    ledger.session.flush()
    return resumed


def extend_due_date(ledger: Ledger, order: Order, days: int) -> int:
    """Give the buyer ``days`` more for the order's open receivables (not those handed
    over): their due date moves, and the dunning plan with it at the next daily run.
    Returns how many moved."""
    if not 0 < days <= 90:
        raise ConfigurationError("extend the due date by 1 to 90 days")
    moved = 0
    for receivable in receivables_of(ledger, order, for_update=True):
        if receivable.status in ("open", "stopped") and receivable.owed > 0:
            receivable.due_on += timedelta(days=days)
            receivable.next_step_on = datetime.now(UTC).date()
            moved += 1
    if not moved:
        raise ConfigurationError("the order has no open invoice whose due date can move")
    ledger.session.flush()
    return moved


def first_invoice_day(ledger: Ledger, merchant_id: int) -> date | None:
    return ledger.session.scalars(select(Invoice.issued_on).where(
        Invoice.merchant_id == merchant_id, Invoice.kind == "invoice")
        .order_by(Invoice.issued_on).limit(1)).first()


def choose_policy(ledger: Ledger, merchant_id: int, *, final: str | None = None,
                  policy: Policy | None = None, today: date | None = None) -> Merchant:
    """Record the merchant's choice: the final step of the default timeline (``final``)
    or a whole policy. Allowed until 7 days after the first invoice sale; after that the
    choice made (or the default, recorded by the tick) stays."""
    if (final is None) == (policy is None):
        raise ConfigurationError("choose either the final step or a whole policy")
    merchant = ledger.merchant(merchant_id, for_update=True)
    today = today or datetime.now(UTC).date()
    first = first_invoice_day(ledger, merchant_id)
    if merchant.dunning_policy_set_by == "default" or (
            first is not None and today > first + CHOICE_WINDOW):
        raise ConfigurationError(
            f"merchant {merchant_id}'s receivables management was settled 7 days after its "
            "first invoice sale; it can no longer be changed")
    chosen = policy or default_policy(final or FINAL_CHOICES[0])
    merchant.dunning_policy = chosen.to_json()
    merchant.dunning_policy_set_by = "merchant"
    merchant.dunning_policy_set_at = datetime.now(UTC)
    ledger.session.execute(update(Receivable).where(
        Receivable.merchant_id == merchant_id, Receivable.status == "open")
        .values(next_step_on=today).execution_options(synchronize_session=False))
    ledger.session.flush()
    return merchant


def policy_of(merchant: Merchant) -> Policy:
    """The merchant's policy: its choice, else the default."""
    if merchant.dunning_policy:
        return Policy.from_json(merchant.dunning_policy)
    return default_policy()
