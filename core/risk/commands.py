"""``invoicekit apikeys``, ``products``, ``risk`` and ``merchants terms``: the risk engine's
settings and records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import select

from core.clitools import DECIMAL, fail, kit_or_fail
from core.errors import ConfigurationError, InvoicekitError, NotFound
from core.ledger.db import session_scope
from core.ledger.models import ApiKey, Product
from core.ledger.store import Ledger
from core.money import money_text, to_minor
from core.risk.apikeys import create_key, revoke_key
from core.risk.limits import identity_key, profile_of, set_limit
from core.risk.policy import COUNTRIES, Terms, load_policy, save_policy, terms_of

__all__ = ["apikeys", "decision_text", "merchants_terms", "products", "risk"]


def eur(cents: int) -> str:
    return money_text(cents, "EUR")


def _cents(value: Decimal | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return to_minor(value, "EUR")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


@contextmanager
def _ledger() -> Iterator[Ledger]:
    """A ledger in one transaction; the kit's errors end the command with their message."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            yield Ledger(session)
    except InvoicekitError as exc:
        fail(exc)


# -- API keys -----------------------------------------------------------------------------


@click.group()
def apikeys() -> None:
    """Merchants' keys for the HTTP API (``/api/v1``)."""


@apikeys.command("create")
@click.option("--merchant", "merchant_id", type=int, required=True)
@click.option("--name", default="checkout", show_default=True, help="What the key is for.")
def apikeys_create(merchant_id: int, name: str) -> None:
    """Create a key; it is shown once (only a hash is stored)."""
    with _ledger() as ledger:
        record, key = create_key(ledger, merchant_id, name)
        key_id = record.id
    click.echo(f"API key {key_id} ({name}) of merchant {merchant_id}:\n{key}\n"
               "Store it now: it cannot be shown again.")


@apikeys.command("list")
@click.option("--merchant", "merchant_id", type=int)
def apikeys_list(merchant_id: int | None) -> None:
    """List keys (never the keys themselves)."""
    with _ledger() as ledger:
        query = select(ApiKey).order_by(ApiKey.id)
        if merchant_id is not None:
            query = query.where(ApiKey.merchant_id == merchant_id)
        for k in ledger.session.scalars(query):
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            click.echo(f"{k.id}  merchant {k.merchant_id}  {k.name}  ik_{k.prefix}_…  "
                       f"created {k.created_at:%Y-%m-%d}  {state}")


@apikeys.command("revoke")
@click.argument("key_id", type=int)
def apikeys_revoke(key_id: int) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with _ledger() as ledger:
        revoke_key(ledger, key_id)
    click.echo(f"API key {key_id} revoked")


# -- products -----------------------------------------------------------------------------


@click.group()
def products() -> None:
    """Products as the eligibility rules see them (approved, trial period)."""


@products.command("set")
@click.argument("merchant_id", type=int)
@click.argument("sku")
@click.option("--name")
@click.option("--approved/--not-approved", default=None,
              help="Approved for invoice payment [new products: approved].")
@click.option("--trial/--no-trial", default=None, help="The product has a trial period.")
def products_set(merchant_id: int, sku: str, name: str | None, approved: bool | None,
                 trial: bool | None) -> None:
    """List a product of MERCHANT_ID by its SKU, or change it."""
    with _ledger() as ledger:
        ledger.merchant(merchant_id)
        product = ledger.session.scalars(select(Product).where(
            Product.merchant_id == merchant_id, Product.sku == sku)).one_or_none()
        if product is None:
            product = Product(merchant_id=merchant_id, sku=sku, approved=True, trial=False)
            ledger.session.add(product)
        for field, value in (("name", name), ("approved", approved), ("trial", trial)):
            if value is not None:
                setattr(product, field, value)
        ledger.session.flush()
        click.echo(_product_line(product))


def _product_line(p: Product) -> str:
    return (f"{p.sku}  {p.name or ''}  {'approved' if p.approved else 'not approved'}"
            f"{', trial period' if p.trial else ''}")


@products.command("list")
@click.argument("merchant_id", type=int)
def products_list(merchant_id: int) -> None:
    """The merchant's listed products."""
    with _ledger() as ledger:
        for p in ledger.session.scalars(select(Product).where(
                Product.merchant_id == merchant_id).order_by(Product.sku)):
            click.echo(_product_line(p))


# -- merchant terms -----------------------------------------------------------------------


@click.command("terms")
@click.argument("merchant_id", type=int)
@click.option("--minimum", type=DECIMAL, metavar="EUR", help="Smallest cart on invoice.")
@click.option("--maximum", type=DECIMAL, metavar="EUR", help="Largest cart on invoice.")
@click.option("--country", "countries", multiple=True, metavar="CC",
              help="Buyer countries on invoice (repeat; replaces the list).")
@click.option("--on-unknown", type=click.Choice(["approve", "decline"]),
              help="What a company no register could confirm gets.")
@click.option("--vies/--no-vies", default=None, help="Check VAT IDs online with VIES.")
@click.option("--listed-products-only/--all-products", default=None,
              help="Only products listed as approved may be paid by invoice.")
@click.option("--credit-limits/--no-credit-limits", default=None,
              help="Credit assessment and per-buyer limits.")
@click.option("--exclude-business-type", "excluded", multiple=True, metavar="TYPE",
              help="A business type (as the checkout names it) never on invoice (repeat; "
              "replaces the list).")
@click.option("--reset", is_flag=True, help="Back to the defaults first.")
def merchants_terms(merchant_id: int, minimum: Decimal | None, maximum: Decimal | None,
                    countries: tuple[str, ...], on_unknown: str | None, vies: bool | None,
                    listed_products_only: bool | None, credit_limits: bool | None,
                    excluded: tuple[str, ...], reset: bool) -> None:
    """Show or change MERCHANT_ID's eligibility terms (its contract over the defaults)."""
    changes: dict[str, Any] = {
        "minimum": _cents(minimum, "--minimum"), "maximum": _cents(maximum, "--maximum"),
        "countries": countries or None, "on_unknown": on_unknown, "vies": vies,
        "listed_products_only": listed_products_only, "credit_limits": credit_limits,
        "excluded_business_types": excluded or None}
    with _ledger() as ledger:
        merchant = ledger.merchant(merchant_id)
        terms = Terms() if reset else terms_of(merchant)
        terms = terms.with_changes(**{k: v for k, v in changes.items() if v is not None})
        merchant.risk_terms = terms.changes()
        click.echo(f"merchant {merchant_id}: carts {eur(terms.minimum)} to "
                   f"{eur(terms.maximum)}; countries {' '.join(terms.countries)}"
                   f"{'' if set(terms.countries) <= set(COUNTRIES) else ' (by contract)'}; "
                   f"unverifiable company: {terms.on_unknown}; VIES "
                   f"{'on' if terms.vies else 'off'}; "
                   f"{'listed products only' if terms.listed_products_only else 'all products'}"
                   f" unless listed as not approved; credit limits "
                   f"{'on' if terms.credit_limits else 'off'}"
                   + (f"; excluded business types: {', '.join(terms.excluded_business_types)}"
                      if terms.excluded_business_types else ""))


# -- the instance's policy and buyers' limits ----------------------------------------------


@click.group()
def risk() -> None:
    """The instance's credit-limit policy and buyers' limits."""


@risk.command("policy")
@click.option("--initial-limit", type=DECIMAL, metavar="EUR")
@click.option("--grow-after", type=int, metavar="N", help="Invoices paid on time in a row.")
@click.option("--grow-percent", type=DECIMAL)
@click.option("--limit-cap", type=DECIMAL, metavar="EUR")
@click.option("--shrink-percent", type=DECIMAL, help="Taken off after a hand-over.")
@click.option("--eur-rate", "eur_rates", multiple=True, metavar="CUR=RATE",
              help="Units of CUR per 1 EUR, e.g. SEK=11.20 (repeat; RATE 0 removes).")
def risk_policy(initial_limit: Decimal | None, grow_after: int | None,
                grow_percent: Decimal | None, limit_cap: Decimal | None,
                shrink_percent: Decimal | None, eur_rates: tuple[str, ...]) -> None:
    """Show or change the credit-limit policy of the whole instance."""
    with _ledger() as ledger:
        policy = load_policy(ledger)
        values = policy.to_json()
        for name, value in (("initial_limit", _cents(initial_limit, "--initial-limit")),
                            ("grow_after", grow_after), ("grow_percent", grow_percent),
                            ("limit_cap", _cents(limit_cap, "--limit-cap")),
                            ("shrink_percent", shrink_percent)):
            if value is not None:
                values[name] = value
        for pair in eur_rates:
            currency, _, rate = pair.partition("=")
            try:
                if Decimal(rate) == 0:
                    values["eur_rates"].pop(currency.upper(), None)
                else:
                    values["eur_rates"][currency.upper()] = str(Decimal(rate))
            except ArithmeticError:
                raise ConfigurationError(f"--eur-rate {pair!r}: use CUR=RATE") from None
        policy = type(policy).from_json(values)
        save_policy(ledger, policy)
    rates = ", ".join(f"1 EUR = {r} {c}" for c, r in sorted(policy.eur_rates.items()))
    click.echo(f"initial limit {eur(policy.initial_limit)}; grows {policy.grow_percent} % "
               f"after {policy.grow_after} invoices paid on time in a row, up to "
               f"{eur(policy.limit_cap)}; shrinks {policy.shrink_percent} % after a "
               f"hand-over; rates: {rates or 'EUR only'}")


def _key(buyer: str, country: str | None, postcode: str | None) -> str:
    """A buyer's identity key from a VAT ID, or from a company name with its country and
    postcode."""
    if country is None:
        return identity_key(buyer, None, "", "")
    return identity_key(None, buyer, postcode or "", country.upper())


@risk.command("buyer")
@click.argument("buyer")
@click.option("--country", help="With a company name instead of a VAT ID.")
@click.option("--postcode")
def risk_buyer(buyer: str, country: str | None, postcode: str | None) -> None:
    """A buyer's credit limit and every change of it (BUYER: a VAT ID, or a company name
    with --country and --postcode)."""
    with _ledger() as ledger:
        profile = profile_of(ledger.session, _key(buyer, country, postcode))
        if profile is None:
            raise NotFound(f"no credit profile for {buyer}: it opens with the buyer's first "
                           "approved order")
        click.echo(f"{profile.buyer_key}: limit {eur(profile.limit)}; "
                   f"{profile.on_time_streak} invoice(s) paid on time since it last grew")
        for change in profile.changes:
            before = eur(change.previous) if change.previous is not None else "-"
            click.echo(f"  {change.changed_at:%Y-%m-%d %H:%M}  {before} -> "
                       f"{eur(change.limit)}  {change.reason}")


@risk.command("set-limit")
@click.argument("buyer")
@click.argument("limit", type=DECIMAL)
@click.option("--reason", required=True, help="Why, for the record.")
@click.option("--country", help="With a company name instead of a VAT ID.")
@click.option("--postcode")
def risk_set_limit(buyer: str, limit: Decimal, reason: str, country: str | None,
                   postcode: str | None) -> None:
    """Set a buyer's credit limit (EUR) by hand."""
    with _ledger() as ledger:
        cents = _cents(limit, "LIMIT")
        assert cents is not None
        set_limit(ledger, _key(buyer, country, postcode), cents, f"set by hand: {reason}")
    click.echo(f"limit of {buyer} set to {eur(cents)}")


def decision_text(decision: dict[str, Any]) -> str:
    """A stored eligibility decision in one line, for ``orders show``."""
    text = decision["decision"]
    if decision["reasons"]:
        text += f" ({', '.join(decision['reasons'])})"
    limit = decision.get("limit")
    if limit:
        text += (f"; credit limit {limit['limit']} EUR, used {limit['used']} with this order, "
                 f"{limit['available']} was available")
    fee = decision["fee"]
    text += f"; fee {fee['percent']} % = {fee['amount']} {decision['currency']}"
    company = decision.get("company")
    if company and company["status"] != "valid":
        text += f"; company {company['status']} ({', '.join(company['reasons'])})"
    return text
