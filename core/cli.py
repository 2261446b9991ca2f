"""The ``invoicekit`` command line: database, merchants, shops, orders and plugins."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from core.errors import InvoicekitError, PayloadError
from core.execute import Outcome, process_snapshot, replay_order
from core.hooks import Hooks
from core.ledger.db import database_url, make_engine, session_scope, upgrade
from core.ledger.store import Ledger
from core.money import to_decimal
from core.plugins import get_plugin_manager, loaded_plugins
from core.reconcile import Trigger
from core.schemas import load_snapshot

__all__ = ["main"]


def _engine() -> Engine:
    return make_engine(database_url())


def _fail(exc: InvoicekitError) -> None:
    if isinstance(exc, PayloadError):
        for name, messages in exc.field_errors.items():
            click.echo(f"  {name}: {'; '.join(messages)}", err=True)
    raise click.ClickException(str(exc))


@click.group()
@click.version_option(package_name="invoicekit")
def main() -> None:
    """invoicekit: B2B pay-by-invoice between your shop and the money.

    The database comes from INVOICEKIT_DATABASE_URL (default: sqlite:///invoicekit.db).
    """


@main.group()
def db() -> None:
    """The ledger database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the ledger schema to the newest revision."""
    upgrade(_engine())
    click.echo("database is up to date")


@main.group()
def merchants() -> None:
    """Merchants and their bank details."""


@merchants.command("add")
@click.option("--id", "merchant_id", type=int, required=True,
              help="Merchant id, as in payment references BP<order>/<id>.")
@click.option("--name", required=True)
@click.option("--country", default="DE", show_default=True)
@click.option("--account-holder", required=True, help="Name shown with the bank details.")
@click.option("--bank-country", default="DE", show_default=True)
@click.option("--bank-code", required=True, help="Bank code of the collection account.")
@click.option("--bic")
@click.option("--account-range", required=True, metavar="FIRST-LAST",
              help="Account numbers for per-buyer virtual IBANs, e.g. 4000000000-4000999999.")
@click.option("--payment-term", default=30, show_default=True, help="Days until due.")
def merchants_add(merchant_id: int, name: str, country: str, account_holder: str,
                  bank_country: str, bank_code: str, bic: str | None, account_range: str,
                  payment_term: int) -> None:
    """Register a merchant."""
    try:
        first, last = (int(part) for part in account_range.split("-", 1))
    except ValueError:
        raise click.BadParameter("use FIRST-LAST, e.g. 4000000000-4000999999",
                                 param_hint="--account-range") from None
    try:
        with session_scope(_engine()) as session:
            Ledger(session).add_merchant(
                id=merchant_id, name=name, country=country, account_holder=account_holder,
                bank_country=bank_country, bank_code=bank_code, bic=bic, account_first=first,
                account_last=last, payment_term_days=payment_term)
    except InvoicekitError as exc:
        _fail(exc)
    click.echo(f"merchant {merchant_id} added")


@main.group()
def shops() -> None:
    """Shop connections."""


@shops.command("add")
@click.argument("name")
@click.option("--merchant", "merchant_id", type=int, required=True)
@click.option("--platform", required=True, help="woocommerce, shopware, generic, …")
@click.option("--provider", default="local", show_default=True)
@click.option("--activate-on", multiple=True, metavar="STATUS",
              help="Shop status that activates the invoice (repeatable).")
@click.option("--cancel-on", multiple=True, metavar="STATUS",
              help="Shop status that cancels the order (repeatable).")
def shops_add(name: str, merchant_id: int, platform: str, provider: str,
              activate_on: tuple[str, ...], cancel_on: tuple[str, ...]) -> None:
    """Connect a shop under NAME (the name in its webhook URL)."""
    hooks = Hooks(get_plugin_manager())
    if provider not in hooks.providers():
        raise click.BadParameter(f"no provider plugin named {provider!r} is installed",
                                 param_hint="--provider")
    status_map: dict[str, str] = {}
    platform_info = hooks.platforms().get(platform)
    if platform_info is not None:
        status_map.update(platform_info.status_map)
    status_map.update({status: Trigger.ACTIVATE.value for status in activate_on})
    status_map.update({status: Trigger.CANCEL.value for status in cancel_on})
    if Trigger.ACTIVATE.value not in status_map.values():
        raise click.BadParameter("name at least one status that activates the invoice",
                                 param_hint="--activate-on")
    try:
        with session_scope(_engine()) as session:
            Ledger(session).add_connection(name=name, merchant_id=merchant_id,
                                           platform=platform, provider=provider,
                                           status_map=status_map)
    except InvoicekitError as exc:
        _fail(exc)
    click.echo(f"shop {name} connected ({platform}, provider {provider}); "
               f"status map: {json.dumps(status_map, sort_keys=True)}")


@main.group()
def orders() -> None:
    """Orders in the ledger."""


def _read_snapshot(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: expected one JSON object")
    return data


@orders.command("feed")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def orders_feed(files: tuple[Path, ...]) -> None:
    """Reconcile canonical order snapshots (JSON files) and run the decided operations."""
    hooks = Hooks(get_plugin_manager())
    engine = _engine()
    failed = False
    for path in files:
        try:
            snapshot = load_snapshot(_read_snapshot(path))
            with session_scope(engine) as session:
                outcome = process_snapshot(Ledger(session), hooks, snapshot)
        except InvoicekitError as exc:
            _fail(exc)
        failed = _report(f"{path.name}: order {snapshot.order_id}", outcome,
                         snapshot.currency) or failed
    if failed:
        sys.exit(1)


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


@orders.command("replay")
@click.argument("shop")
@click.argument("order_id")
def orders_replay(shop: str, order_id: str) -> None:
    """Try an order's dead operations again, with their original idempotency keys."""
    hooks = Hooks(get_plugin_manager())
    try:
        with session_scope(_engine()) as session:
            outcome = replay_order(Ledger(session), hooks, shop, order_id)
    except InvoicekitError as exc:
        _fail(exc)
    if _report(f"order {shop}/{order_id}", outcome, outcome.currency):
        sys.exit(1)


@orders.command("show")
@click.argument("shop")
@click.argument("order_id")
def orders_show(shop: str, order_id: str) -> None:
    """Show an order's amounts, lines, documents and journal."""
    from sqlalchemy import select

    from core.ledger.models import Invoice

    try:
        with session_scope(_engine()) as session:
            ledger = Ledger(session)
            order = ledger.find_order(shop, order_id)
            state = ledger.state_of(order)

            def money(minor: int) -> str:
                return f"{to_decimal(minor, order.currency)} {order.currency}"

            click.echo(f"order {order.order_number} ({shop}/{order_id}): {state.status}, "
                       f"open {money(state.open_amount)}")
            if state.decline_reason:
                click.echo(f"  declined: {state.decline_reason}")
            for line_id, ls in state.lines.items():
                click.echo(f"  line {line_id}: ordered {ls.ordered}, activated {ls.activated}, "
                           f"cancelled {ls.cancelled}, returned {ls.returned}")
            for doc in session.scalars(select(Invoice).where(Invoice.order_id == order.id)
                                       .order_by(Invoice.id)):
                due = f", due {doc.due_on}" if doc.due_on else ""
                click.echo(f"  {doc.kind} {doc.number}: {money(doc.gross)}{due}, "
                           f"pay to {doc.iban} with reference {doc.payment_reference}")
            for movement in ledger.movements_of(order):
                click.echo(f"  journal {movement.occurred_at:%Y-%m-%d %H:%M} {movement.kind}: "
                           f"{money(movement.amount)}  {movement.description}")
    except InvoicekitError as exc:
        _fail(exc)


@main.command("plugins")
def plugins() -> None:
    """List the registered plugins and the hooks each implements."""
    for plugin in loaded_plugins(get_plugin_manager()):
        version = f" {plugin.version}" if plugin.version else ""
        click.echo(f"{plugin.name}{version} ({plugin.module}): {', '.join(plugin.hooks)}")
