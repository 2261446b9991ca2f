"""Charges of a buyer in default: the flat fee and default interest, receivables of their own.

A charge is owed only once a notice (or the hand-over) claimed it: :func:`claim` records
what a notice stated, so what the buyer is asked for and what the ledger holds agree. A
payment of an invoice covers its costs first, then its interest, then its principal
(§ 367(1) BGB): :func:`split`. The merchant can waive the charges of an order
(:func:`waive`), a recorded act after which none of the kind is claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from core.errors import ConfigurationError, NotFound
from core.ledger.models import Charge, Order, Receivable
from core.ledger.store import Ledger

__all__ = ["KINDS", "ChargesDue", "charge_of", "claim", "due_now", "split", "waive"]

KINDS = ("fee", "interest")  # in the order a payment covers them, before the principal
JOURNAL = {"fee": ("dunning_fee", "flat fee for late payment claimed from the buyer"),
           "interest": ("default_interest", "default interest claimed from the buyer")}


def charge_of(ledger: Ledger, receivable: Receivable, kind: str) -> Charge:
    """The receivable's charge of ``kind``, made (with nothing claimed) when it has none."""
    for charge in receivable.charges:
        if charge.kind == kind:
            return charge
    charge = Charge(receivable_id=receivable.id, kind=kind, currency=receivable.currency,
                    claimed=0, paid=0, waived=0)
    ledger.session.add(charge)
    ledger.session.flush()
    ledger.session.refresh(receivable, attribute_names=["charges"])
    return charge


@dataclass(frozen=True, slots=True)
class ChargesDue:
    """What a notice on a given day asks on top of the principal: per kind, what was
    claimed before and is still open, and what it claims anew."""

    fee_open: int = 0
    interest_open: int = 0
    new_fee: int = 0
    new_interest: int = 0

    @property
    def fee(self) -> int:
        return self.fee_open + self.new_fee

    @property
    def interest(self) -> int:
        return self.interest_open + self.new_interest


def due_now(receivable: Receivable, *, fee: int, interest: int) -> ChargesDue:
    """The charges a notice states, given what the law allows in all today (``fee``, and
    ``interest`` counted from the first day of default): the open ones, plus what was
    never claimed and not waived (the fee once per invoice; interest as it grows)."""
    held = {charge.kind: charge for charge in receivable.charges}

    def new(kind: str, allowed: int) -> int:
        charge = held.get(kind)
        if charge is not None and charge.waived_on is not None:
            return 0
        return max(allowed - (charge.claimed if charge else 0), 0)

    return ChargesDue(
        fee_open=held["fee"].open if "fee" in held else 0,
        interest_open=held["interest"].open if "interest" in held else 0,
        new_fee=new("fee", fee), new_interest=new("interest", interest))


def claim(ledger: Ledger, receivable: Receivable, kind: str, amount: int, *, key: str,
          document_number: str | None = None) -> None:
    """Record that ``amount`` more of ``kind`` was claimed from the buyer (a notice went
    out, or the claim was handed over), journalled once per ``key``."""
    if amount <= 0:
        return
    charge = charge_of(ledger, receivable, kind)
    charge.claimed += amount
    movement, description = JOURNAL[kind]
    ledger.journal(merchant_id=receivable.merchant_id, order_id=receivable.order_id,
                   kind=movement, amount=amount, currency=receivable.currency,
                   idempotency_key=key, description=description,
                   document_number=document_number)


def split(receivable: Receivable, amount: int) -> list[tuple[str, Charge | None, int]]:
    """How much of ``amount`` goes to each part of the receivable: costs, then interest,
    then principal (§ 367(1) BGB), each taking what it has open; ``(part, charge, take)``
    with ``charge`` ``None`` for the principal."""
    parts: list[tuple[str, Charge | None, int]] = []
    left = amount
    held = {charge.kind: charge for charge in receivable.charges}
    for kind in KINDS:
        charge = held.get(kind)
        take = min(left, charge.open) if charge is not None else 0
        if take > 0:
            parts.append((kind, charge, take))
            left -= take
    take = min(left, receivable.open_amount)
    if take > 0:
        parts.append(("principal", None, take))
    return parts


def waive(ledger: Ledger, order: Order, reason: str, day: date) -> int:
    """The merchant waives the open charges of the order's invoices and any it would claim
    later; recorded on each charge and journalled. Returns the amount waived."""
    reason = reason.strip()
    if not reason:
        raise ConfigurationError("a waiver needs a reason")
    receivables = ledger.session.scalars(select(Receivable).where(
        Receivable.order_id == order.id).order_by(Receivable.due_on, Receivable.id)
        .with_for_update()).all()
    if not receivables:
        raise NotFound(f"order {order.shop_order_id} has no invoice of the local provider")
    total = 0
    for receivable in receivables:
        if receivable.status == "handed_over":
            continue  # the collection partner holds the claim
        for kind in KINDS:
            charge = charge_of(ledger, receivable, kind)
            if charge.waived_on is not None and not charge.open:
                continue
            amount = charge.open
            charge.waived += amount
            charge.waived_on, charge.waive_reason = day, reason[:200]
            total += amount
            if amount:
                ledger.journal(
                    merchant_id=receivable.merchant_id, order_id=receivable.order_id,
                    kind="charge_waiver", amount=-amount, currency=receivable.currency,
                    idempotency_key=f"waiver:{charge.id}:{charge.waived}",
                    description=f"{kind} waived by the merchant: {reason[:120]}",
                    document_number=receivable.invoice.number)
        if receivable.owed <= 0 and receivable.status in ("open", "stopped"):
            receivable.status, receivable.next_step_on = "settled", None
    ledger.session.flush()
    return total
