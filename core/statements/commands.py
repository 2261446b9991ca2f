"""The ``invoicekit statements`` commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from core.clitools import fail, kit_or_fail, money
from core.errors import InvoicekitError
from core.statements.build import build_statement, week_of

__all__ = ["statements"]


@click.group()
def statements() -> None:
    """Weekly merchant statements (Monday to Sunday): every movement, CSV and PDF."""


@statements.command("build")
@click.option("--merchant", "merchant_id", type=int, required=True)
@click.option("--week", help="ISO week, e.g. 2026-W47 [default: last week].")
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Folder [default: the instance folder's statements/].")
def statements_build(merchant_id: int, week: str | None, folder: Path | None) -> None:
    """Build a merchant's statement of one week (again, if it exists)."""
    kit = kit_or_fail()
    week = week or week_of(datetime.now(UTC).date() - timedelta(days=7))
    try:
        statement = build_statement(kit.engine, merchant_id, week,
                                    folder or kit.settings.home / "statements")
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"statement {week} of merchant {merchant_id}: {statement.rows} movements")
    for currency in statement.totals.currencies:
        click.echo(f"  payout for the week: {money(statement.totals.payout(currency), currency)}")
    click.echo(f"  {statement.csv_path}\n  {statement.pdf_path}")
