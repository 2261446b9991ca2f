"""The ``invoicekit orders``, ``operations`` and ``deliveries`` commands: feeding, showing and
replaying orders, provider operations and stored webhook deliveries."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from core.clitools import fail, kit_or_fail
from core.errors import ConfigurationError, InvoicekitError, NotFound
from core.execute import Outcome, process_snapshot
from core.inbox import replay_delivery
from core.kit import Kit, retry_order
from core.ledger.db import session_scope
from core.ledger.models import (
    Delivery,
    OperationRecord,
    Order,
    ShopConnection,
)
from core.ledger.store import Ledger
from core.money import to_decimal
from core.order_details import order_details
from core.risk.commands import decision_text
from core.schemas import load_snapshot
from core.sync.commands import orders_preview

__all__ = ["deliveries", "operations", "orders"]


# -- orders -------------------------------------------------------------------------------


@click.group()
def orders() -> None:
    """Orders in the ledger."""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: expected one JSON object")
    return data


def _report(label: str, outcome: Outcome, currency: str) -> bool:
    """Print what processing did; ``True`` if an operation failed."""
    ops = ", ".join(f"{op.kind.value} {to_decimal(op.amount.gross, currency)}"
                    for op in outcome.executed) or "nothing to do"
    note = " (stale snapshot ignored)" if outcome.stale else ""
    click.echo(f"{label} {outcome.status}: {ops}{note}")
    if outcome.decline_reason:
        click.echo(f"  declined: {outcome.decline_reason}")
    for refusal in outcome.refusals:
        click.echo(f"  refused: {refusal.message}")
    if outcome.failure:
        kind = "dead" if outcome.failure.permanent else "will be retried"
        click.echo(f"  failed ({kind}): {outcome.failure.error}", err=True)
    return outcome.failure is not None


@orders.command("feed")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def orders_feed(files: tuple[Path, ...]) -> None:
    """Reconcile canonical order snapshots (JSON files) and run the decided operations."""
    kit = kit_or_fail(migrate=True)
    failed = False
    for path in files:
        try:
            snapshot = load_snapshot(_read_json(path))
            outcome = process_snapshot(kit.engine, kit.hooks, snapshot, kit.backoff)
        except InvoicekitError as exc:
            fail(exc)
        failed = _report(f"{path.name}: order {snapshot.order_id}", outcome,
                         snapshot.currency) or failed
    kit.queue.send_writebacks()  # tell the shop, as the worker does after a delivery
    if failed:
        sys.exit(1)


@orders.command("replay")
@click.argument("shop")
@click.argument("order_id")
def orders_replay(shop: str, order_id: str) -> None:
    """Try an order's dead operations again, with their original idempotency keys."""
    _retry(kit_or_fail(), shop, order_id)


def _retry(kit: Kit, shop: str, order_id: str) -> None:
    """Retry an order's dead operations now, then queue its dead deliveries again: after a
    success they finish, after another transient failure they carry the retries on."""
    try:
        outcome, requeued = retry_order(kit, shop, order_id)
    except InvoicekitError as exc:
        fail(exc)
    failed = _report(f"order {shop}/{order_id}", outcome, outcome.currency)
    for delivery_id in requeued:
        click.echo(f"  dead delivery {delivery_id} queued again")
    if failed:
        sys.exit(1)


@orders.command("show")
@click.argument("shop")
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def orders_show(shop: str, order_id: str, as_json: bool) -> None:
    """Show an order: state, amounts, bank details, documents, operations and what the shop
    was told (write-backs)."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine, write=False) as session:
            ledger = Ledger(session)
            details = order_details(ledger, ledger.find_order(shop, order_id))
    except InvoicekitError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(details, indent=2))
        return
    d = details
    click.echo(f"order {d['order_number']} ({shop}/{order_id}): {d['status']}, total "
               f"{d['total']} {d['currency']}, activated {d['activated']}, credited "
               f"{d['credited']}, open {d['open']} {d['currency']}")
    if "invoiced" in d:
        charges = "" if "charges" not in d else (
            f", charges {d['charges']} (paid {d['charges_paid']}"
            + (f", waived {d['charges_waived']})" if Decimal(d["charges_waived"]) else ")"))
        click.echo(f"  invoiced {d['invoiced']}, credited {d['credited']}, paid {d['paid']}"
                   f"{charges}, open {d['open']} {d['currency']}")
    if d["disputed"]:
        click.echo(f"  disputed: {d['provider']} reports that the buyer disputes an invoice; "
                   "hold deliveries and reminders to this buyer until it is settled")
    if d["decline_reason"]:
        click.echo(f"  declined: {d['decline_reason']}")
    if d["decision"]:
        click.echo(f"  eligibility: {decision_text(d['decision'])}")
    if d["iban"]:
        click.echo(f"  pay to {d['iban']} (BIC {d['bic'] or '-'}), reference "
                   f"{d['payment_reference']}, due {d['due_on']}")
    for line in d["lines"]:
        click.echo(f"  line {line['line_id']}: ordered {line['ordered']}, activated "
                   f"{line['activated']}, cancelled {line['cancelled']}, returned "
                   f"{line['returned']}")
    for doc in d["documents"]:
        click.echo(f"  {doc['kind']} {doc['number']}: {doc['gross']} {d['currency']} "
                   f"(net {doc['net']}, tax {doc['tax']})")
    for op in d["operations"]:
        error = f" - {op['error']}" if op["error"] else ""
        click.echo(f"  operation {op['kind']} {op['amount']}: {op['status']}{error}")
    for event in d["provider_events"]:
        click.echo(f"  {event['at'][:16]} {event['description']} ({event['amount']} "
                   f"{d['currency']})")
    for refusal in d["refusals"]:
        click.echo(f"  {refusal['at'][:16]} not passed on: {refusal['message']}")
    for drift in d["drift"]:
        kit_side = f", kit {drift['kit']}" if drift["kit"] else ""
        acknowledged = f", acknowledged {drift['acknowledged_at'][:16]}" \
            if drift["acknowledged_at"] else ""
        click.echo(f"  drift since {drift['since'][:16]}: {drift['kind'].replace('_', ' ')} "
                   f"(shop {drift['shop']}{kit_side}){acknowledged}")
    for w in d["writebacks"]:
        outcome = f" - {w['outcome']}" if w["outcome"] else ""
        click.echo(f"  write-back {w['id']} {w['event']}: {w['status']}{outcome}")


# -- operations ---------------------------------------------------------------------------


@click.group()
def operations() -> None:
    """Provider operations: failed and dead ones, and retrying them."""


@operations.command("list")
@click.option("--failed", is_flag=True,
              help="Only those not done: failed (to be retried), dead, or in flight.")
@click.option("--limit", default=50, show_default=True)
def operations_list(failed: bool, limit: int) -> None:
    """List operations, newest first, with their order, amount, status and reason."""
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        query = (select(OperationRecord, Order, ShopConnection)
                 .join(Order, OperationRecord.order_id == Order.id)
                 .join(ShopConnection, Order.connection_id == ShopConnection.id)
                 .order_by(OperationRecord.id.desc()).limit(limit))
        if failed:
            query = query.where(OperationRecord.status.in_(("failed", "dead", "in_flight")))
        for record, order, connection in session.execute(query):
            reason = f" - {record.error}" if record.error else ""
            click.echo(f"{record.id}  {connection.name}/{order.shop_order_id}  {record.kind} "
                       f"{to_decimal(record.gross, order.currency)} {order.currency}  "
                       f"{record.status} (attempts {record.attempts}){reason}")


@operations.command("retry")
@click.argument("operation_id", type=int)
def operations_retry(operation_id: int) -> None:
    """Try a failed or dead operation again now, with its original idempotency key (and
    whatever else its order has pending)."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine, write=False) as session:
            record = session.get(OperationRecord, operation_id)
            if record is None:
                raise NotFound(f"no operation {operation_id}")
            if record.status == "succeeded":
                raise ConfigurationError(f"operation {operation_id} has succeeded already")
            order = session.get(Order, record.order_id)
            shop = session.get(ShopConnection, order.connection_id).name
            order_id = order.shop_order_id
    except InvoicekitError as exc:
        fail(exc)
    _retry(kit, shop, order_id)


# -- deliveries ---------------------------------------------------------------------------


@click.group()
def deliveries() -> None:
    """Webhook deliveries in the inbox."""


@deliveries.command("list")
@click.option("--dead", is_flag=True, help="Only dead deliveries.")
@click.option("--status", type=click.Choice(["pending", "retrying", "done", "dead", "ignored"]),
              help="Only deliveries in this status.")
@click.option("--shop", help="Only this shop's deliveries.")
@click.option("--limit", default=50, show_default=True)
def deliveries_list(dead: bool, status: str | None, shop: str | None, limit: int) -> None:
    """List deliveries, newest first, with their status and, for dead ones, the reason."""
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        query = select(Delivery).join(ShopConnection).order_by(Delivery.id.desc()).limit(limit)
        if dead or status:
            query = query.where(Delivery.status == ("dead" if dead else status))
        if shop:
            query = query.where(ShopConnection.name == shop)
        for d in session.scalars(query):
            reason = f" - {d.error}" if d.error else ""
            click.echo(f"{d.id}  {d.received_at:%Y-%m-%d %H:%M:%S}  {d.connection.name}  "
                       f"{d.topic}  order {d.shop_order_id or '-'}  {d.status} "
                       f"(attempts {d.attempts}){reason}")


@deliveries.command("replay")
@click.argument("delivery_id", type=int)
def deliveries_replay(delivery_id: int) -> None:
    """Queue a (dead) delivery again; its order's dead operations are tried again too."""
    kit = kit_or_fail()
    try:
        replay_delivery(kit.engine, delivery_id)
    except InvoicekitError as exc:
        fail(exc)
    kit.queue.enqueue(delivery_id)
    click.echo(f"delivery {delivery_id} queued again")


orders.add_command(orders_preview)
