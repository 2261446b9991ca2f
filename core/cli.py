"""The ``invoicekit`` management commands: the group, the worker, the database and plugins;
the other groups (back-office users and the audit record among them) come from
``core.commands`` and the area packages.
Settings come from the instance folder (``INVOICEKIT_HOME``).

The receiver adds ``serve`` to this group (``webhooks.cli``), which is the console script.
"""

from __future__ import annotations

from pathlib import Path

import click

from core.clitools import fail, kit_or_fail
from core.commands.orders import deliveries, operations, orders
from core.commands.shops import merchants, shops
from core.commands.users import audit, users
from core.config import setup_logging
from core.einvoice.commands import documents
from core.errors import InvoicekitError
from core.ledger.db import upgrade
from core.payments.commands import payments
from core.plugins import loaded_plugins
from core.receivables.commands import dunning
from core.risk.commands import apikeys, products, risk
from core.scaffold import KINDS, create_plugin
from core.statements.commands import statements
from core.writeback.commands import writebacks

__all__ = ["fail", "kit_or_fail", "main"]


@click.group()
@click.version_option(package_name="invoicekit")
def main() -> None:
    """invoicekit: B2B pay-by-invoice between your shop and the money.

    Data and settings live in the instance folder: INVOICEKIT_HOME, default ./instance.
    """


# -- running ------------------------------------------------------------------------------


@main.command()
def worker() -> None:
    """Run only the queue consumer (receivers run elsewhere, e.g. under gunicorn)."""
    setup_logging()
    kit = kit_or_fail(migrate=True)
    recovered = kit.queue.rebuild()
    reclaimed = kit.queue.start(kit.settings.home, "worker")
    kit.queue.watch()  # queues within seconds what the queue could not take (an outage)
    click.echo(f"invoicekit worker: {kit.settings.workers} threads; {recovered} stored "
               "deliveries queued again" + (
                   f"; operations of {len(reclaimed)} orders left in flight by the last run "
                   "taken back" if reclaimed else "")
               + "; SIGTERM finishes the running tasks and stops", err=True)
    # SIGTERM (systemd, containers) lets running tasks finish; SIGINT stops at once
    kit.queue.huey.create_consumer(workers=kit.settings.workers, worker_type="thread",
                                   graceful_signal="TERM").run()


@main.group()
def db() -> None:
    """The ledger database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the ledger schema to the newest revision."""
    kit = kit_or_fail()
    upgrade(kit.engine)
    click.echo(f"database is up to date ({kit.settings.home})")


@main.command("plugins")
def plugins() -> None:
    """List the registered plugins: version, hooks implemented, and what each declares (a
    platform's capabilities, a provider's operations)."""
    hooks = kit_or_fail().hooks
    declared = {**{f"platform {p.name}": p.capabilities for p in hooks.platforms().values()},
                **{f"provider {p.name}": p.operations for p in hooks.providers().values()}}
    for plugin in loaded_plugins(hooks.pm):
        version = f" {plugin.version}" if plugin.version else ""
        click.echo(f"{plugin.name}{version} ({plugin.module}): {', '.join(plugin.hooks)}")
        for what in plugin.declares:
            kinds = ", ".join(sorted(k.value for k in declared.get(what, ()))) or "(none)"
            click.echo(f"  {what}: {kinds}")


@main.command("new-plugin")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name")
@click.option("--into", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The folder to create the package in.")
def new_plugin(kind: str, name: str, into: Path) -> None:
    """Create a ready-to-install KIND plugin package NAME (setup.cfg with the entry point,
    the hooks, a README and tests running the kit's contract suite)."""
    try:
        folder = create_plugin(kind, name, into)
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"created {folder}\nnext: pip install -e {folder} && invoicekit plugins")


for group in (apikeys, audit, deliveries, documents, dunning, merchants, operations, orders,
              payments, products, risk, shops, statements, users, writebacks):
    main.add_command(group)
