"""The ``invoicekit merchants`` and ``invoicekit shops`` commands: merchants and their bank
details, shop connections (secrets, status maps, write-back and REST settings)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import select

from core.clitools import DECIMAL, fail, kit_or_fail
from core.commands.connect import shops_connect_code
from core.connections import SetupError, ShopSetup, add_shop, check_settings, new_secret
from core.context import PlatformInfo
from core.einvoice.formats import SETTINGS as EINVOICE_SETTINGS
from core.einvoice.formats import set_einvoice_setting
from core.einvoice.seller import KEYS as SELLER_KEYS
from core.errors import ConfigurationError, InvoicekitError
from core.ledger.db import session_scope
from core.ledger.models import (
    Merchant,
    ShopConnection,
    ShopSync,
)
from core.ledger.store import Ledger, check_time_zone
from core.risk.commands import merchants_terms
from core.sync.checks import check_lines, check_shop, delivery_url
from core.sync.commands import shops_drift, shops_sync
from core.sync.poll import NOT_MAPPED

__all__ = ["merchants", "shops"]


# -- merchants and shops ------------------------------------------------------------------


@click.group()
def merchants() -> None:
    """Merchants and their bank details."""


@merchants.command("add")
@click.argument("merchant_id", type=int)
@click.option("--name", required=True)
@click.option("--country", default="DE", show_default=True)
@click.option("--kyc-verified", is_flag=True, help="The merchant passed the KYC check.")
@click.option("--account-holder", help="Name shown with the bank details [default: NAME].")
@click.option("--bank-country", default="DE", show_default=True)
@click.option("--bank-code", default="10020030", show_default=True,
              help="Bank code of the collection account.")
@click.option("--bic")
@click.option("--account-range", metavar="FIRST-LAST",
              help="Account numbers for per-buyer virtual IBANs [default: the million "
                   "numbers MERCHANT_ID000000-MERCHANT_ID999999, for ids up to 9999].")
@click.option("--payment-term", default=30, show_default=True, help="Days until due.")
@click.option("--provider", default="local", show_default=True,
              help="The provider of the merchant's orders.")
def merchants_add(merchant_id: int, name: str, country: str, kyc_verified: bool,
                  account_holder: str | None, bank_country: str, bank_code: str,
                  bic: str | None, account_range: str | None, payment_term: int,
                  provider: str) -> None:
    """Register merchant MERCHANT_ID (the number in payment references BP<order>/<id>)."""
    if account_range is None:
        if not 0 < merchant_id <= 9999:
            raise click.BadParameter("name the range for merchant ids above 9999",
                                     param_hint="--account-range")
        account_range = f"{merchant_id * 10**6}-{merchant_id * 10**6 + 999_999}"
    try:
        first, last = (int(part) for part in account_range.split("-", 1))
    except ValueError:
        raise click.BadParameter("use FIRST-LAST, e.g. 4000000000-4000999999",
                                 param_hint="--account-range") from None
    kit = kit_or_fail(migrate=True)
    if provider not in kit.hooks.providers():
        raise click.BadParameter(f"no provider plugin named {provider!r} is installed",
                                 param_hint="--provider")
    try:
        with session_scope(kit.engine) as session:
            Ledger(session).add_merchant(
                id=merchant_id, name=name, country=country,
                account_holder=account_holder or name, bank_country=bank_country,
                bank_code=bank_code, bic=bic, account_first=first, account_last=last,
                payment_term_days=payment_term, kyc_verified=kyc_verified,
                provider=provider)
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"merchant {merchant_id} added")


@merchants.command("list")
def merchants_list() -> None:
    """List the merchants with their bank details and how much of the account range is used."""
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        for m in session.scalars(select(Merchant).order_by(Merchant.id)):
            used = m.next_account - m.account_first
            size = m.account_last - m.account_first + 1
            click.echo(f"{m.id}  {m.name} ({m.country}{', KYC verified' if m.kyc_verified else ''})"
                       f"  holder {m.account_holder}, bank {m.bank_country} {m.bank_code}"
                       f"{' ' + m.bic if m.bic else ''}, virtual IBANs {used} of {size} used,"
                       f" payment term {m.payment_term_days} days, fee {m.fee_percent} %,"
                       f" provider {m.provider}")


@merchants.command("configure")
@click.argument("merchant_id", type=int)
@click.option("--name")
@click.option("--kyc-verified/--not-kyc-verified", default=None)
@click.option("--account-holder")
@click.option("--bic")
@click.option("--account-last", type=int, help="Extend the account range up to this number.")
@click.option("--payment-term", type=int, help="Days until due, for invoices from now on.")
@click.option("--provider", help="The provider of the merchant's orders from now on "
              "(local, billie…).")
@click.option("--provider-setting", "provider_settings", multiple=True, metavar="KEY=VALUE",
              help="A setting of the provider (repeatable); KEY= removes it.")
@click.option("--billie-client-id", help="Billie API client id.")
@click.option("--billie-client-secret", help="Billie API client secret (never shown again).")
@click.option("--billie-production/--billie-sandbox", default=None,
              help="Use Billie's production or sandbox API.")
@click.option("--fee", "fee_percent", type=DECIMAL, metavar="PERCENT",
              help="The merchant's fee per order, in percent of the invoiced amount "
                   "[default when added: 6.99].")
@click.option("--fee-vat", "fee_vat_percent", type=DECIMAL, metavar="PERCENT",
              help="VAT charged on the fee, in percent [default when added: 0].")
@click.option("--rf-references/--no-rf-references", default=None,
              help="Give new invoices an ISO 11649 RF creditor reference as well.")
@click.option("--time-zone", metavar="ZONE",
              help="IANA time zone the back office shows times in, e.g. Europe/Vienna "
                   "[default when added: Europe/Berlin].")
@click.option("--seller", "seller", multiple=True, metavar="KEY=VALUE",
              help="A seller detail for e-invoices (repeatable; KEY= removes it): "
                   f"{', '.join(SELLER_KEYS)}.")
@click.option("--einvoice", type=click.Choice(EINVOICE_SETTINGS), help="The e-invoice buyers "
              "get: auto (XRechnung XML for a buyer with a Leitweg-ID, ZUGFeRD PDF "
              "otherwise), zugferd, xrechnung or both [default when added: auto].")
def merchants_configure(merchant_id: int, name: str | None, kyc_verified: bool | None,
                        account_holder: str | None, bic: str | None,
                        account_last: int | None, payment_term: int | None,
                        provider: str | None, provider_settings: tuple[str, ...],
                        billie_client_id: str | None, billie_client_secret: str | None,
                        billie_production: bool | None, fee_percent: Decimal | None,
                        fee_vat_percent: Decimal | None, rf_references: bool | None,
                        time_zone: str | None, seller: tuple[str, ...],
                        einvoice: str | None = None) -> None:
    """Change a merchant's details, provider and provider settings; the bank code and
    merchant id stay as they are."""
    seller_details: dict[str, str | None] = {}
    for item in seller:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"use KEY=VALUE, not {item!r}", param_hint="--seller")
        seller_details[key.strip()] = value
    kit = kit_or_fail()
    if provider is not None and provider not in kit.hooks.providers():
        raise click.BadParameter(f"no provider plugin named {provider!r} is installed",
                                 param_hint="--provider")
    if time_zone is not None:
        try:
            time_zone = check_time_zone(time_zone)
        except ConfigurationError as exc:
            raise click.BadParameter(str(exc), param_hint="--time-zone") from None
    settings = _provider_settings(provider_settings)
    for key, value in (("client_id", billie_client_id),
                       ("client_secret", billie_client_secret),
                       ("sandbox", None if billie_production is None else not billie_production)):
        if value is not None:
            settings[key] = value
    try:
        with session_scope(kit.engine) as session:
            Ledger(session).configure_merchant(
                merchant_id, name=name, kyc_verified=kyc_verified,
                account_holder=account_holder, bic=bic, account_last=account_last,
                payment_term_days=payment_term, provider=provider,
                provider_settings=settings, fee_percent=fee_percent,
                fee_vat_percent=fee_vat_percent, rf_references=rf_references,
                time_zone=time_zone, seller=seller_details)
            if einvoice is not None:
                set_einvoice_setting(Ledger(session).merchant(merchant_id), einvoice)
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"merchant {merchant_id} configured")
    if settings:
        click.echo(f"  provider settings changed: {', '.join(sorted(settings))}")


def _provider_settings(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as settings, values as text (the provider plugin reads them);
    ``KEY=`` (nothing after the sign) as ``None``, which removes the setting."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sign, value = pair.partition("=")
        if not sign or not key.strip():
            raise click.BadParameter(f"use KEY=VALUE, not {key!r}",
                                     param_hint="--provider-setting")
        settings[key.strip()] = value or None
    return settings


@click.group()
def shops() -> None:
    """Shop connections. A WooCommerce shop with the invoicekit plugin connects itself:
    give its owner a one-time code from ``invoicekit shops connect-code``."""


@shops.command("add")
@click.argument("platform")
@click.argument("shop")
@click.option("--merchant", "merchant_id", type=int, required=True)
@click.option("--secret", help="Webhook secret (default: a new random one).")
@click.option("--provider", help="Provider of this shop's orders [default: the merchant's].")
@click.option("--payment-method", "payment_methods", multiple=True, metavar="ID",
              help="Payment method id of invoice orders in the shop (repeatable) "
                   "[default: the platform's, e.g. invoice for WooCommerce].")
@click.option("--activate-on", multiple=True, metavar="STATUS",
              help="Shop status that activates the invoice (repeatable; replaces the "
                   "platform's default).")
@click.option("--cancel-on", multiple=True, metavar="STATUS",
              help="Shop status that cancels the order (repeatable).")
@click.option("--rest-url", help="Shop base URL for REST reads (WooCommerce: refund lines).")
@click.option("--consumer-key", help="REST API consumer key (read access).")
@click.option("--consumer-secret", help="REST API consumer secret.")
@click.option("--shop-id", help="The shop's own id on its platform (Shopware's shop id), for "
              "platforms that post every shop to one URL; the app registration fills it in.")
def shops_add(platform: str, shop: str, merchant_id: int, secret: str | None,
              provider: str | None,
              payment_methods: tuple[str, ...], activate_on: tuple[str, ...],
              cancel_on: tuple[str, ...], rest_url: str | None, consumer_key: str | None,
              consumer_secret: str | None, shop_id: str | None) -> None:
    """Connect SHOP on PLATFORM; prints the delivery URL and secret for the shop's settings."""
    setup = ShopSetup(platform=platform, name=shop, merchant_id=merchant_id, secret=secret,
                      provider=provider, payment_methods=payment_methods,
                      activate_on=activate_on, cancel_on=cancel_on,
                      rest=_rest_settings(rest_url, consumer_key, consumer_secret),
                      shop_id=shop_id)
    kit = kit_or_fail(migrate=True)
    try:
        with session_scope(kit.engine) as session:
            added = add_shop(Ledger(session), kit.hooks, setup)
            provider, secret, status_map = (added.connection.provider, added.secret,
                                            added.status_map)
    except SetupError as exc:
        if exc.field == "settings":
            raise click.UsageError(str(exc)) from None
        raise click.BadParameter(str(exc), param_hint=_HINTS[exc.field]) from None
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"shop {shop} connected ({platform}, provider {provider})")
    path = platform if shop_id else f"{platform}/{shop}"
    click.echo(f"  delivery URL: {kit.settings.public_url}/webhooks/{path}")
    click.echo(f"  secret:       {secret or 'handed out by the app registration'}")
    click.echo(f"  status map:   {json.dumps(status_map, sort_keys=True)}")
    if payment_methods:
        click.echo(f"  invoice payment methods: {', '.join(payment_methods)}")


@shops.command("configure")
@click.argument("shop")
@click.option("--payment-method", "payment_methods", multiple=True, metavar="ID",
              help="Replace the invoice payment method ids (repeatable).")
@click.option("--activate-on", multiple=True, metavar="STATUS",
              help="Replace the statuses that activate the invoice (repeatable).")
@click.option("--cancel-on", multiple=True, metavar="STATUS",
              help="Replace the statuses that cancel the order (repeatable).")
@click.option("--rest-url", help="Shop base URL for REST reads and write-back.")
@click.option("--consumer-key", help="REST API consumer key (read/write for write-back).")
@click.option("--consumer-secret", help="REST API consumer secret.")
@click.option("--declined-status", metavar="STATUS",
              help="WooCommerce: the status a declined order is put in [default: on-hold]; "
                   "'' keeps its status.")
@click.option("--transition", "transitions", multiple=True, metavar="EVENT=ACTION",
              help="Shopware: the payment transaction transition to make on an event, e.g. "
                   "paid=paid, paid_partially=paid_partially (repeatable; EVENT= removes).")
@click.option("--writeback-url", metavar="URL",
              help="Generic: where the kit posts signed write-back webhooks ('' stops them); "
                   "a new signing secret is printed.")
def shops_configure(shop: str, payment_methods: tuple[str, ...], activate_on: tuple[str, ...],
                    cancel_on: tuple[str, ...], rest_url: str | None,
                    consumer_key: str | None, consumer_secret: str | None,
                    declined_status: str | None, transitions: tuple[str, ...],
                    writeback_url: str | None) -> None:
    """Change a connected shop's payment methods, status mapping, API credentials or
    write-back settings."""
    rest = _rest_settings(rest_url, consumer_key, consumer_secret)
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            ledger = Ledger(session)
            connection = ledger.connection(shop)
            platform = kit.hooks.platforms().get(connection.platform)
            new_secret = (platform and platform.new_secret) or _new_secret
            rest.update(_writeback_settings(declined_status, writeback_url, new_secret))
            settings = {**connection.platform_settings, **rest}
            if payment_methods:
                settings["payment_methods"] = list(payment_methods)
            if transitions:
                settings["transitions"] = _transitions(settings.get("transitions") or {},
                                                       transitions)
            settings = {k: v for k, v in settings.items() if v is not None}
            _check_settings(platform, settings)
            status_map = dict(connection.status_map)
            if activate_on:
                status_map = {k: v for k, v in status_map.items() if v != "activate"}
                status_map.update(dict.fromkeys(activate_on, "activate"))
            if cancel_on:
                status_map = {k: v for k, v in status_map.items() if v != "cancel"}
                status_map.update(dict.fromkeys(cancel_on, "cancel"))
            ledger.configure_connection(connection, status_map=status_map,
                                        platform_settings=settings)
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"shop {shop} configured; status map: {json.dumps(status_map, sort_keys=True)}; "
               f"invoice payment methods: "
               f"{', '.join(settings.get('payment_methods', [])) or 'the platform default'}; "
               f"shop API reads: "
               f"{'on' if settings.get('rest_url') or settings.get('client_id') else 'off'}")
    if writeback_url:
        click.echo(f"  write-back webhooks to {writeback_url}, signed with "
                   f"{settings['writeback_secret']} (shown once: give it to the shop)")


_HINTS = {"platform": "PLATFORM", "provider": "--provider", "secret": "--secret"}


def _check_settings(platform: PlatformInfo | None, settings: dict[str, Any]) -> None:
    """Let the platform plugin refuse settings the shop would not work with."""
    try:
        check_settings(platform, settings)
    except SetupError as exc:
        raise click.UsageError(str(exc)) from None


def _writeback_settings(declined_status: str | None, writeback_url: str | None,
                        new_secret: Callable[[], str]) -> dict[str, Any]:
    """Settings of the write-back; ``None`` values remove a setting."""
    settings: dict[str, Any] = {}
    if declined_status is not None:
        settings["declined_status"] = declined_status
    if writeback_url is not None:
        if writeback_url and not writeback_url.startswith(("https://", "http://")):
            raise click.BadParameter("use an http(s) URL", param_hint="--writeback-url")
        settings["writeback_url"] = writeback_url or None
        settings["writeback_secret"] = new_secret() if writeback_url else None
    return settings


def _transitions(current: dict[str, str], pairs: tuple[str, ...]) -> dict[str, str]:
    result = dict(current)
    for pair in pairs:
        event, sep, action = pair.partition("=")
        if not sep or not event.strip():
            raise click.BadParameter(f"{pair!r} is not EVENT=ACTION", param_hint="--transition")
        if action.strip():
            result[event.strip()] = action.strip()
        else:
            result.pop(event.strip(), None)
    return result


def _rest_settings(rest_url: str | None, consumer_key: str | None,
                   consumer_secret: str | None) -> dict[str, str]:
    if not (rest_url or consumer_key or consumer_secret):
        return {}
    if not (rest_url and consumer_key and consumer_secret):
        raise click.UsageError("--rest-url, --consumer-key and --consumer-secret go together")
    return {"rest_url": rest_url, "consumer_key": consumer_key,
            "consumer_secret": consumer_secret}


def _new_secret() -> str:
    return new_secret(None)


@shops.command("rotate-secret")
@click.argument("shop")
@click.option("--secret", help="The new secret (default: a new random one).")
def shops_rotate_secret(shop: str, secret: str | None) -> None:
    """Give SHOP a new webhook secret; the previous one stays valid until the next rotation."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            connection = Ledger(session).connection(shop)
            platform = kit.hooks.platforms().get(connection.platform)
            if platform is not None and platform.registers_itself:
                raise click.UsageError(f"{connection.platform} shops get a new secret when "
                                       "their app registers again")
            if secret and platform is not None and platform.check_secret is not None:
                try:
                    platform.check_secret(secret)
                except ValueError as exc:
                    raise click.BadParameter(str(exc), param_hint="--secret") from None
            secret = secret or ((platform and platform.new_secret) or _new_secret)()
            connection.secrets = [secret, *connection.secrets[:1]]
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"new secret for {shop}: {secret}")


@shops.command("show")
@click.argument("shop")
def shops_show(shop: str) -> None:
    """Show a shop's platform, capabilities, status mapping and settings (secrets hidden)."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine, write=False) as session:
            c = Ledger(session).connection(shop)
            platform = kit.hooks.platforms().get(c.platform)
            capabilities = sorted(k.value for k in platform.capabilities) if platform else []
            hidden = {"consumer_secret", "client_secret", "pending_secret", "writeback_secret"}
            settings = {k: ("***" if k in hidden else v)
                        for k, v in c.platform_settings.items()
                        if k != "used_registrations"}  # bookkeeping of the app handshake
            click.echo(f"{c.name}: {c.platform} shop of merchant {c.merchant_id}, provider "
                       f"{c.provider}")
            if c.external_id:
                click.echo(f"  shop id on {c.platform}: {c.external_id}")
            click.echo(f"  delivery URL: {kit.settings.public_url}/webhooks/{c.platform}"
                       + ("" if c.external_id else f"/{c.name}"))
            click.echo("  capabilities: " + (", ".join(capabilities) or "none (provider events "
                                             "only)" if platform else "platform not installed"))
            click.echo(f"  status map: {json.dumps(c.status_map, sort_keys=True)}")
            click.echo(f"  settings: {json.dumps(settings, sort_keys=True)}")
            click.echo(f"  secrets: {len(c.valid_secrets())} valid")
            platform_name, platform_settings = c.platform, dict(c.platform_settings)
            url = delivery_url(kit.settings.public_url, c)
            last = session.scalars(select(ShopSync).where(ShopSync.connection_id == c.id)
                                   .order_by(ShopSync.id.desc()).limit(1)).first()
            last_poll = None
            if last is not None:
                unmapped = [d for d in last.drift if d.get("drift") == NOT_MAPPED]
                outcome = f"failed: {last.error}" if last.error else \
                    f"{last.orders_read} read, {last.fed} new, " \
                    f"{len(last.drift) - len(unmapped)} drifted"
                if unmapped:
                    outcome += (f", {len(unmapped)} not mapped (replay after fixing: "
                                "invoicekit deliveries replay "
                                + " ".join(str(d["delivery"]) for d in unmapped) + ")")
                last_poll = f"  last poll {last.started_at:%Y-%m-%d %H:%M} UTC: {outcome}"
    except InvoicekitError as exc:
        fail(exc)
    # the shop's API is asked outside any transaction
    for line in check_lines(check_shop(kit.hooks, platform_name, platform_settings, url)):
        click.echo(line)
    if last_poll:
        click.echo(last_poll)


@shops.command("reset-registration")
@click.argument("shop")
def shops_reset_registration(shop: str) -> None:
    """Forget a shop's app registration (secrets and API credentials), so that the app can
    register afresh, e.g. after it was uninstalled in Shopware."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            connection = Ledger(session).connection(shop)
            kept = {"payment_methods", "shop_url"}
            connection.platform_settings = {k: v for k, v in connection.platform_settings.items()
                                            if k in kept}
            connection.secrets = []
            connection.previous_secret_until = None
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"{shop}: registration forgotten; its deliveries are refused until the app "
               "registers again")


@shops.command("list")
def shops_list() -> None:
    """List the connected shops."""
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        for c in session.scalars(select(ShopConnection).order_by(ShopConnection.name)):
            click.echo(f"{c.name}: {c.platform}, merchant {c.merchant_id}, provider "
                       f"{c.provider}, {kit.settings.public_url}/webhooks/{c.platform}/{c.name}")


merchants.add_command(merchants_terms)
shops.add_command(shops_sync)
shops.add_command(shops_drift)
shops.add_command(shops_connect_code)
