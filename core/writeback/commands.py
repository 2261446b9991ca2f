"""``invoicekit writebacks``: what the kit told the shops, what failed, and sending again."""

from __future__ import annotations

import click
from sqlalchemy import select

from core.clitools import fail, kit_or_fail
from core.errors import InvoicekitError
from core.ledger.db import session_scope
from core.ledger.models import Order, ShopConnection, WriteBackRecord
from core.writeback.outbox import retry_writebacks, send_due

__all__ = ["writebacks"]


@click.group()
def writebacks() -> None:
    """Write-backs to the shops: order meta, notes, statuses, webhooks."""


@writebacks.command("list")
@click.option("--dead", is_flag=True, help="Only dead write-backs.")
@click.option("--waiting", is_flag=True, help="Only those not yet sent (pending, retrying).")
@click.option("--shop", help="Only this shop's.")
@click.option("--order", "order_id", help="Only this order's (its id in the shop).")
@click.option("--limit", default=50, show_default=True)
def writebacks_list(dead: bool, waiting: bool, shop: str | None, order_id: str | None,
                    limit: int) -> None:
    """List write-backs, newest first, with their status and last error."""
    kit = kit_or_fail()
    query = (select(WriteBackRecord, ShopConnection.name, Order.shop_order_id)
             .join(ShopConnection, ShopConnection.id == WriteBackRecord.connection_id)
             .join(Order, Order.id == WriteBackRecord.order_id))
    if dead:
        query = query.where(WriteBackRecord.status == "dead")
    if waiting:
        query = query.where(WriteBackRecord.status.in_(("pending", "retrying", "sending")))
    if shop:
        query = query.where(ShopConnection.name == shop)
    if order_id:
        query = query.where(Order.shop_order_id == order_id)
    with session_scope(kit.engine, write=False) as session:
        rows = session.execute(query.order_by(WriteBackRecord.id.desc()).limit(limit)).all()
        for record, shop_name, shop_order_id in rows:
            outcome = record.error if record.status in ("dead", "retrying") else record.result
            when = f" next {record.next_attempt_at:%Y-%m-%d %H:%M}" \
                if record.status == "retrying" and record.next_attempt_at else ""
            click.echo(f"{record.id} {shop_name}/{shop_order_id} {record.event}: "
                       f"{record.status} after {record.attempts} attempt(s){when}"
                       + (f" - {outcome}" if outcome else ""))
        if not rows:
            click.echo("no write-backs")


@writebacks.command("retry")
@click.argument("writeback_id", type=int, required=False)
@click.option("--shop", help="Every dead write-back of this shop.")
@click.option("--all", "everything", is_flag=True, help="Every dead write-back.")
def writebacks_retry(writeback_id: int | None, shop: str | None, everything: bool) -> None:
    """Send dead write-backs again (one, a shop's, or all), now."""
    if (writeback_id is None) == (shop is None and not everything):
        raise click.UsageError("name one WRITEBACK_ID, or --shop SHOP, or --all")
    kit = kit_or_fail()
    try:
        count = retry_writebacks(kit.engine, record_id=writeback_id, shop=shop)
    except InvoicekitError as exc:
        fail(exc)
    sent = send_due(kit.engine, kit.hooks, kit.backoff, links=kit.queue.links)
    click.echo(f"{count} dead write-back(s) made pending; sent {sent.done}, to be retried "
               f"{sent.failed}, dead {sent.dead}")


@writebacks.command("send")
def writebacks_send() -> None:
    """Send every write-back that is due now (the worker does this every minute)."""
    kit = kit_or_fail()
    sent = send_due(kit.engine, kit.hooks, kit.backoff, count_waiting=True,
                    links=kit.queue.links)
    click.echo(f"sent {sent.done}, to be retried {sent.failed}, dead {sent.dead}, "
               f"still waiting {sent.waiting}")
