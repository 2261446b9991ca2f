"""``invoicekit shops sync`` and ``invoicekit orders preview``: reading back from a shop."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from core.clitools import fail, kit_or_fail, money
from core.errors import InvoicekitError
from core.inbox import process_delivery
from core.sync.poll import sync_shop
from core.sync.preview import preview_order

__all__ = ["orders_preview", "shops_sync"]


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
        report = sync_shop(kit.engine, kit.hooks, shop, since=_since(since), feed=process)
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
        kit_side = f", kit {entry['kit']}" if "kit" in entry else ""
        click.echo(f"  drift {entry['order_number']} ({entry['order_id']}): "
                   f"{entry['drift'].replace('_', ' ')} (shop {entry['shop']}{kit_side})")
    for line in processed:
        click.echo(line)
    if unmapped:
        click.echo("  replay an order that was not mapped once it is fixed: invoicekit "
                   "deliveries replay <delivery>")
    if unmapped or any(": dead" in line or ": retrying" in line for line in processed):
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
    if not (preview.decision.operations or preview.decision.refusals
            or preview.decision.stale):
        click.echo("  would run: nothing (the ledger agrees with the shop)")
