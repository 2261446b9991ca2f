"""``invoicekit shops sync`` and ``invoicekit orders preview``: reading back from a shop."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from core.clitools import fail, kit_or_fail, money
from core.errors import InvoicekitError, NotFound
from core.inbox import process_delivery
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.sync.checks import check_lines
from core.sync.drift import KINDS, acknowledge, as_entry, open_drift
from core.sync.poll import sync_shop
from core.sync.preview import preview_order

__all__ = ["orders_preview", "shops_drift", "shops_sync"]


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO date or time, e.g. 2026-11-20 or "
                                 "2026-11-20T08:00", param_hint="--since") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@click.command("sync")
@click.argument("shop")
@click.option("--since", help="Read orders modified from this time on (UTC) [default: where "
              "the last poll ended].")
def shops_sync(shop: str, since: str | None) -> None:
    """Read the orders SHOP changed since the last poll, process those the kit missed, and
    report the drift between the shop and the ledger."""
    kit = kit_or_fail()
    processed: list[str] = []

    def process(delivery_id: int) -> None:
        result = process_delivery(kit.engine, kit.hooks, delivery_id, kit.backoff)
        processed.append(f"  delivery {delivery_id}: {result.status}"
                         + (f" - {result.error}" if result.error else ""))

    try:
        report = sync_shop(kit.engine, kit.hooks, shop, since=_since(since), feed=process,
                           public_url=kit.settings.public_url)
    except InvoicekitError as exc:
        fail(exc)
    kit.queue.send_writebacks()
    unmapped = report.not_mapped
    click.echo(f"{shop}: {report.read} order(s) modified since "
               f"{report.since:%Y-%m-%d %H:%M} UTC read, {report.ignored} not by invoice, "
               f"{len(report.fed)} new to the kit"
               + (f", {len(unmapped)} not mapped" if unmapped else ""))
    for entry in unmapped:
        click.echo(f"  not mapped {entry['order_id']}: {entry['reason']} "
                   f"(delivery {entry['delivery']})")
    for entry in report.drift:
        if entry in unmapped:
            continue
        click.echo(f"  drift {entry['order_number']} ({entry['order_id']}): "
                   f"{_drift_text(entry)}")
    for line in processed:
        click.echo(line)
    for line in check_lines(report.checks):
        click.echo(line)
    with session_scope(kit.engine, write=False) as session:
        ledger = Ledger(session)
        lasting = open_drift(ledger, ledger.connection(shop).id, acknowledged=False)
    if lasting:
        click.echo(f"  {len(lasting)} difference(s) still open after processing: invoicekit "
                   f"shops drift list {shop}; acknowledge one with invoicekit shops drift ack "
                   f"{shop} ORDER")
    if unmapped:
        click.echo("  replay an order that was not mapped once it is fixed: invoicekit "
                   "deliveries replay <delivery>")
    if unmapped or any(": dead" in line or ": retrying" in line for line in processed) \
            or (report.checks is not None and report.checks.problems):
        sys.exit(1)


@click.command("preview")
@click.argument("shop")
@click.argument("order_id")
def orders_preview(shop: str, order_id: str) -> None:
    """Show which operations the shop's current state of ORDER_ID would trigger, without
    running them (a dry run; nothing is stored)."""
    kit = kit_or_fail()
    try:
        preview = preview_order(kit.engine, kit.hooks, shop, order_id)
    except InvoicekitError as exc:
        fail(exc)
    if preview.ignored:
        click.echo(f"order {shop}/{order_id}: nothing to do ({preview.ignored})")
        return
    snapshot = preview.snapshot
    assert snapshot is not None
    cur = snapshot.currency
    known = f"the kit has it as {preview.state.status.value}" if preview.known \
        else "new to the kit"
    click.echo(f"order {snapshot.order_number} ({shop}/{order_id}): shop status "
               f"{snapshot.status}, total {money(snapshot.total, cur)}; {known}")
    if preview.followed:
        click.echo(f"  followed although the shop's order reads \"{preview.followed}\": "
                   "the kit placed it by invoice")
    for op in preview.unfinished:
        click.echo(f"  unfinished, runs first: {op.kind.value} {money(op.amount.gross, cur)}")
    if preview.decision.stale:
        click.echo("  the kit has seen a newer state of this order: nothing would change")
    for op in preview.decision.operations:
        part = " (invoiced part)" if op.after_activation and op.kind.value != "activation" \
            else ""
        click.echo(f"  would run: {op.kind.value} {money(op.amount.gross, cur)}{part}")
    for refusal in preview.decision.refusals:
        click.echo(f"  would refuse: {refusal.message}")
    for entry in preview.drift if not preview.decision.operations else ():
        # what running would not bring in line
        click.echo(f"  drift: {_drift_text(entry)}")
    if not (preview.decision.operations or preview.decision.refusals
            or preview.decision.stale):
        click.echo("  would run: nothing" + ("" if preview.drift
                                             else " (the ledger agrees with the shop)"))


def _drift_text(entry: dict) -> str:
    kit_side = f", kit {entry['kit']}" if entry.get("kit") else ""
    return f"{entry['drift'].replace('_', ' ')} (shop {entry['shop']}{kit_side})"


@click.group("drift")
def shops_drift() -> None:
    """Lasting differences between a shop's orders and the ledger."""


@shops_drift.command("list")
@click.argument("shop")
@click.option("--all", "everything", is_flag=True, help="Also the acknowledged ones.")
def drift_list(shop: str, everything: bool) -> None:
    """List SHOP's open differences between its orders and the ledger, oldest first."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine, write=False) as session:
            ledger = Ledger(session)
            rows = open_drift(ledger, ledger.connection(shop).id, acknowledged=everything)
            for row in rows:
                acknowledged = f", acknowledged {row.acknowledged_at:%Y-%m-%d %H:%M}" \
                    if row.acknowledged_at else ""
                click.echo(f"{row.order_number} ({row.shop_order_id}): "
                           f"{_drift_text(as_entry(row))} since "
                           f"{row.first_seen_at:%Y-%m-%d %H:%M} UTC, seen {row.seen} "
                           f"time(s){acknowledged}")
    except InvoicekitError as exc:
        fail(exc)
    if not rows:
        click.echo(f"{shop}: the ledger agrees with the shop (no open drift)")


@shops_drift.command("ack")
@click.argument("shop")
@click.argument("order_id")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind of difference.")
def drift_ack(shop: str, order_id: str, kind: str | None) -> None:
    """Acknowledge ORDER_ID's open differences: the poll stops reporting them until a side
    changes again (they stay in orders show until shop and ledger agree)."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            ledger = Ledger(session)
            rows = acknowledge(ledger, ledger.connection(shop).id, order_id, kind)
            texts = [_drift_text(as_entry(row)) for row in rows]
            if not rows:
                raise NotFound(f"order {shop}/{order_id} has no open drift to acknowledge")
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"order {shop}/{order_id}: acknowledged " + "; ".join(texts))
