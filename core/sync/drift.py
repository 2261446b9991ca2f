"""Drift: where a shop's order and the ledger disagree for good.

The shop's current order (a snapshot) is compared with the **ledger** — its status, the
total the provider was told, the refunds passed on — not with the snapshot seen last, so a
difference the kit cannot follow stays visible: an increase it refused, a refund deleted in
the shop after it was credited, a declined order the shop completed anyway, an order the
kit closed (expired, cancelled in the back office) that the shop still has open. Each
difference is an :class:`~core.ledger.models.OrderDrift` row, recorded after every delivery
processed and on every poll (which reads the orders with open drift again), and reported on
every poll until the two agree or the merchant acknowledges it (``invoicekit shops drift ack
SHOP ORDER``). Where the shop should hear of it, it is also told once as a change not passed
on (:func:`~core.hookspecs.change_refused`: the shop's note, ``orders show``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, or_, select

from core.execute import refuse_change
from core.hooks import Hooks
from core.ledger.db import session_scope
from core.ledger.models import OperationRecord, Order, OrderDrift, ShopConnection
from core.ledger.store import Ledger
from core.money import money_text
from core.operations import Refusal
from core.snapshot import OrderSnapshot
from core.state import Status

__all__ = ["DECLINED_COMPLETED", "KINDS", "NEVER_SEEN", "REFUNDS_DIFFER", "REFUND_DELETED",
           "STATUS_DIFFERS", "TOTAL_DIFFERS", "Drifted", "acknowledge", "as_entry", "compare",
           "compare_processed", "open_drift", "record", "refund_credits", "tell_drift"]

log = logging.getLogger(__name__)

NEVER_SEEN = "never_seen"
STATUS_DIFFERS = "status_differs"
TOTAL_DIFFERS = "total_differs"
REFUND_DELETED = "refund_deleted"
REFUNDS_DIFFER = "refunds_differ"
KINDS = (NEVER_SEEN, STATUS_DIFFERS, TOTAL_DIFFERS, REFUND_DELETED, REFUNDS_DIFFER)
# the refusal reason of a declined order the shop completed
DECLINED_COMPLETED = "declined_completed"

_CLOSED = frozenset({Status.VOIDED, Status.CREDITED, Status.DECLINED})
_OPEN_OR_DECLINED = frozenset({Status.AUTHORISED, Status.ACTIVE, Status.DECLINED})


def _entry(snapshot: OrderSnapshot, kind: str, shop: str, kit: str | None = None,
           key: str | None = None) -> dict[str, Any]:
    entry = {"order_id": snapshot.order_id, "order_number": snapshot.order_number,
             "drift": kind, "key": key or kind, "shop": shop}
    if kit is not None:
        entry["kit"] = kit
    return entry


def _shop_refund_ids(refund_ids: frozenset[str]) -> set[str]:
    """The shop's refunds among those the ledger passed on: not the marks of a refund half
    passed on (``part:…``) nor a return entered in the back office (``office:…``)."""
    return {refund_id for refund_id in refund_ids if ":" not in refund_id}


def refund_credits(ledger: Ledger, order: Order, refund_id: str) -> tuple[int, list[str]]:
    """What the kit passed on for a shop refund: gross, and its credit notes' numbers."""
    source = f"refund:{refund_id}"
    records = ledger.session.scalars(select(OperationRecord).where(
        OperationRecord.order_id == order.id, OperationRecord.status == "succeeded",
        or_(OperationRecord.source == source,
            OperationRecord.source.startswith(f"{source}:")))).all()
    return (sum(r.gross for r in records),
            [r.document_number for r in records if r.document_number])


def compare(ledger: Ledger, order: Order | None, snapshot: OrderSnapshot,
            status_map: Mapping[str, str]) -> list[dict[str, Any]]:
    """How the shop's order (``snapshot``) differs from the ledger's ``order`` (``None``:
    the ledger has none); an empty list when they agree.

    * ``status_differs``: the shop's status says the order is closed (a cancelling status,
      cancelled, fully refunded) and the ledger has it open, or it activates and the ledger
      has no invoice (not placed further, declined, closed), or the shop has it open and
      the ledger closed it;
    * ``total_differs``: an open order whose total is not what the provider was told (an
      increase refused);
    * ``refund_deleted``: a refund the kit passed on that the shop no longer lists;
    * ``refunds_differ``: refunds of an open order the kit has not passed on.
    """
    if order is None:
        return [_entry(snapshot, NEVER_SEEN, money_text(snapshot.total, snapshot.currency))]
    state = ledger.state_of(order)
    if state.status is Status.NEW:  # not placed yet: its operations and deliveries say why
        return []
    currency = snapshot.currency
    found = []
    trigger = status_map.get(snapshot.status)
    closed = (snapshot.cancelled or snapshot.returned or trigger == "cancel"
              or 0 < snapshot.total <= snapshot.refund_total)
    if closed:
        agrees = state.status in _CLOSED
    elif trigger == "activate":
        agrees = state.status is Status.ACTIVE
    else:
        agrees = state.status in _OPEN_OR_DECLINED
    if not agrees:
        kit = state.status.value
        if state.status is Status.DECLINED and state.decline_reason:
            kit += f" ({state.decline_reason})"
        found.append(_entry(snapshot, STATUS_DIFFERS, snapshot.status, kit))
    if state.status.is_open and snapshot.total != state.total_seen:
        found.append(_entry(snapshot, TOTAL_DIFFERS, money_text(snapshot.total, currency),
                            money_text(state.total_seen, currency)))
    listed = {refund.refund_id for refund in snapshot.refunds}
    passed_on = _shop_refund_ids(state.refund_ids)
    for refund_id in sorted(passed_on - listed):
        gross, documents = refund_credits(ledger, order, refund_id)
        notes = f", credit note {', '.join(documents)}" if documents else ""
        found.append(_entry(snapshot, REFUND_DELETED, f"no refund {refund_id}",
                            f"refund {refund_id} credited {money_text(gross, currency)}{notes}",
                            key=f"{REFUND_DELETED}:{refund_id}"))
    missing = [r for r in snapshot.refunds if r.refund_id not in passed_on]
    if state.status.is_open and missing:
        found.append(_entry(
            snapshot, REFUNDS_DIFFER,
            f"refund {', '.join(r.refund_id for r in missing)} of "
            f"{money_text(sum(r.amount for r in missing), currency)}", "not passed on"))
    return found


def _now() -> datetime:
    return datetime.now(UTC)


def open_drift(ledger: Ledger, connection_id: int, shop_order_id: str | None = None, *,
               acknowledged: bool = True) -> list[OrderDrift]:
    """The drift not resolved of a shop (or of one order), oldest first; without the
    acknowledged ones if ``acknowledged`` is false."""
    query = select(OrderDrift).where(OrderDrift.connection_id == connection_id,
                                     OrderDrift.resolved_at.is_(None))
    if shop_order_id is not None:
        query = query.where(OrderDrift.shop_order_id == shop_order_id)
    if not acknowledged:
        query = query.where(OrderDrift.acknowledged_at.is_(None))
    return list(ledger.session.scalars(query.order_by(OrderDrift.id)))


def as_entry(row: OrderDrift) -> dict[str, Any]:
    """A drift row as the poll reports it."""
    entry = {"order_id": row.shop_order_id, "order_number": row.order_number,
             "drift": row.kind, "shop": row.shop}
    if row.kit is not None:
        entry["kit"] = row.kit
    return entry


def record(ledger: Ledger, connection_id: int, shop_order_id: str, order_number: str,
           entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make the order's open drift what ``entries`` found: a difference found again is
    seen once more, a new one (or one whose sides changed) is opened, one no longer found
    is resolved. Returns the entries opened now."""
    now = _now()
    current = {row.key: row for row in open_drift(ledger, connection_id, shop_order_id)}
    opened = []
    for entry in entries:
        row = current.pop(entry["key"], None)
        if row is not None and (row.shop, row.kit) == (entry["shop"][:255],
                                                       (entry.get("kit") or None)):
            row.seen, row.last_seen_at, row.order_number = row.seen + 1, now, order_number
            continue
        if row is not None:  # one side changed: a new difference
            row.resolved_at = now
        ledger.session.add(OrderDrift(
            connection_id=connection_id, shop_order_id=shop_order_id,
            order_number=order_number[:64], key=entry["key"][:96], kind=entry["drift"],
            shop=entry["shop"][:255], kit=(entry.get("kit") or None) and entry["kit"][:255],
            seen=1, first_seen_at=now, last_seen_at=now))
        opened.append(entry)
    for row in current.values():
        row.resolved_at = now
    ledger.session.flush()
    return opened


def acknowledge(ledger: Ledger, connection_id: int, shop_order_id: str,
                kind: str | None = None) -> list[OrderDrift]:
    """The merchant has seen the order's open drift (of ``kind`` only, if given): it is no
    longer reported by the poll, until a side changes. Returns the rows acknowledged."""
    rows = [row for row in open_drift(ledger, connection_id, shop_order_id,
                                      acknowledged=False)
            if kind is None or row.kind == kind]
    now = _now()
    for row in rows:
        row.acknowledged_at = now
    return rows


def _refusal(ledger: Ledger, order: Order, snapshot: OrderSnapshot,
             entry: dict[str, Any]) -> Refusal | None:
    """What the shop is told of a difference just found, if anything: a deleted refund, a
    declined order completed. (An increase is told by the reconciliation, a closing by its
    credit.)"""
    if entry["drift"] == REFUND_DELETED:
        refund_id = entry["key"].split(":", 1)[1]
        gross, documents = refund_credits(ledger, order, refund_id)
        notes = f" (credit note {', '.join(documents)})" if documents else ""
        return Refusal(f"{REFUND_DELETED}:{refund_id}"[:32], gross, (
            f"refund {refund_id} of {money_text(gross, snapshot.currency)} was deleted in the "
            f"shop after the kit had credited it{notes}; a credit is not taken back, so the "
            "invoice stays reduced by it. If the refund was deleted by mistake, do not refund "
            "it again in the shop (that would credit it twice); if the buyer owes it after "
            "all, invoice it anew. Then acknowledge the difference: invoicekit shops drift "
            f"ack {snapshot.shop} {snapshot.order_id}"))
    state = ledger.state_of(order)
    if entry["drift"] == STATUS_DIFFERS and state.status is Status.DECLINED \
            and order.connection.status_map.get(snapshot.status) == "activate":
        reason = f" ({state.decline_reason})" if state.decline_reason else ""
        return Refusal(DECLINED_COMPLETED, 0, (
            f"the order was set to {snapshot.status} in the shop although invoice payment "
            f"was declined{reason}: no invoice is issued and the kit collects nothing for "
            "it. Collect the payment another way (or cancel the order), then acknowledge "
            f"the difference: invoicekit shops drift ack {snapshot.shop} {snapshot.order_id}"))
    return None


@dataclass(frozen=True)
class Drifted:
    """What a processed delivery's comparison opened, and what the shop is to hear of it."""

    opened: list[dict[str, Any]]
    refusals: list[Refusal]


def compare_processed(ledger: Ledger, order: Order, connection: ShopConnection,
                      snapshot: OrderSnapshot) -> Drifted:
    """Compare ``order`` of ``connection`` (locked in this transaction, which processed
    ``snapshot``) with the shop's, and record the difference; :func:`tell_drift` tells of
    it once committed."""
    if order.ordering_key is not None and snapshot.ordering_key < order.ordering_key:
        return Drifted([], [])  # a newer state of the order was processed meanwhile
    opened = record(ledger, connection.id, snapshot.order_id, snapshot.order_number,
                    compare(ledger, order, snapshot, connection.status_map))
    return Drifted(opened, [r for entry in opened
                            if (r := _refusal(ledger, order, snapshot, entry)) is not None])


def tell_drift(engine: Engine, hooks: Hooks, snapshot: OrderSnapshot,
               drifted: Drifted) -> None:
    """Tell the shop what it must hear of the drift just recorded (each refusal in a
    transaction of its own), and log every difference opened."""
    for refusal in drifted.refusals:
        with session_scope(engine) as session:
            refuse_change(Ledger(session), hooks, snapshot, refusal)
    for entry in drifted.opened:
        log.warning("order %s/%s drifted from the ledger: %s (shop %s, kit %s)",
                    snapshot.shop, snapshot.order_id, entry["drift"], entry["shop"],
                    entry.get("kit"))
