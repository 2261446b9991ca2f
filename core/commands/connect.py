"""``invoicekit shops connect-code``: a one-time code with which a shop owner connects a
WooCommerce shop from the invoicekit plugin (:mod:`core.connect`)."""

from __future__ import annotations

import click

from core.clitools import fail, kit_or_fail
from core.connect import DEFAULT_MINUTES, MAX_MINUTES, issue_code
from core.errors import InvoicekitError
from core.ledger.db import session_scope
from core.ledger.store import Ledger

__all__ = ["shops_connect_code"]

WHERE = "WordPress under WooCommerce → invoicekit (plugin invoicekit for WooCommerce)"


@click.command("connect-code")
@click.option("--merchant", "merchant_id", type=int, required=True)
@click.option("--shop", metavar="NAME", help="The connection's name; a WooCommerce shop of "
              "the merchant with this name is connected again [default: named after the "
              "shop's address].")
@click.option("--valid-minutes", type=click.IntRange(1, MAX_MINUTES), default=DEFAULT_MINUTES,
              show_default=True, help="How long the code can be used.")
def shops_connect_code(merchant_id: int, shop: str | None, valid_minutes: int) -> None:
    """Make a one-time code that connects a WooCommerce shop with the invoicekit plugin: the
    shop owner pastes it with the kit's address; it is shown once (only a hash is stored)."""
    kit = kit_or_fail(migrate=True)
    try:
        with session_scope(kit.engine) as session:
            record, code = issue_code(Ledger(session), merchant_id, shop=shop,
                                      minutes=valid_minutes)
            expires = record.expires_at
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"connection code for merchant {merchant_id}"
               f"{f' (shop {shop})' if shop else ''}: {code}")
    click.echo(f"  valid until {expires:%Y-%m-%d %H:%M} UTC, once")
    click.echo(f"  paste it in {WHERE}, with the address {kit.settings.public_url}")
