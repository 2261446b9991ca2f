"""What the command modules share: the kit, errors as messages, days, amounts, decimals."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

import click

from core.config import load_settings
from core.errors import InvoicekitError, PayloadError
from core.kit import Kit
from core.money import money_text

__all__ = ["DECIMAL", "echo_rows", "fail", "kit_or_fail", "money", "parse_day"]


def kit_or_fail(*, migrate: bool = False) -> Kit:
    """The kit; the embedded SQLite ledger is brought up to date on the way (PostgreSQL is
    migrated only by ``db upgrade``, ``serve`` and ``worker``)."""
    try:
        settings = load_settings()
        return Kit.create(settings, migrate=migrate or settings.database_url.startswith(
            "sqlite:"))
    except InvoicekitError as exc:
        fail(exc)


def fail(exc: InvoicekitError) -> NoReturn:
    """End the command with the error's message (and the fields it names)."""
    if isinstance(exc, PayloadError):
        for name, messages in exc.field_errors.items():
            click.echo(f"  {name}: {'; '.join(messages)}", err=True)
    raise click.ClickException(str(exc))


def parse_day(value: str | None, hint: str = "--date") -> date:
    """A ``YYYY-MM-DD`` option's day, today (UTC) when not given."""
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint=hint) from None


money = money_text  # ``12.30 EUR``


class DecimalType(click.ParamType):
    """A decimal number such as ``6.99``, read exactly (never as a float)."""

    name = "decimal"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.fail(f"{value!r} is not a decimal number such as 6.99", param, ctx)
        return number


DECIMAL = DecimalType()


def echo_rows(rows: list[dict[str, Any]], as_json: bool, line: Callable[[dict[str, Any]], str],
              empty: str) -> None:
    """Print ``rows`` as JSON, or one ``line`` each (``empty`` when there are none)."""
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(empty)
    for row in rows:
        click.echo(line(row))
