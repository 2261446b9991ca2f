"""The ``invoicekit dunning`` commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clitools import fail, kit_or_fail, money, parse_day
from core.errors import InvoicekitError
from core.ledger.db import session_scope
from core.ledger.models import (
    DunningStep,
    HandoverBatch,
    Merchant,
    Order,
    Receivable,
    ShopConnection,
)
from core.ledger.store import Ledger
from core.receivables.book import (
    CHOICE_WINDOW,
    choose_policy,
    first_invoice_day,
    policy_of,
    receivables_of,
    stop_dunning,
)
from core.receivables.charges import waive
from core.receivables.policy import FINAL_CHOICES, Policy
from core.receivables.schedule import timeline
from core.receivables.tick import DailyTick, view_of

__all__ = ["dunning"]

CHARGE_NAMES = {"fee": "flat fee", "interest": "default interest"}


@click.group()
def dunning() -> None:
    """Receivables management of the local provider's invoices."""


@dunning.command("run")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="Run for this day [default: today].")
def dunning_run(day: str | None) -> None:
    """Run the daily tick now (the worker runs it every day by itself)."""
    kit = kit_or_fail()
    report = DailyTick.for_settings(kit.engine, kit.hooks, kit.settings).run(parse_day(day))
    for line in report.lines():
        click.echo(line)
    if report.errors:
        raise SystemExit(1)


@dunning.command("show")
@click.argument("shop")
@click.argument("order_id")
def dunning_show(shop: str, order_id: str) -> None:
    """List an order's dunning steps: those taken, with what they said, and those to come."""
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        ledger = Ledger(session)
        try:
            order = ledger.find_order(shop, order_id)
        except InvoicekitError as exc:
            fail(exc)
        receivables = receivables_of(ledger, order)
        if not receivables:
            click.echo(f"order {order_id} has no invoice under receivables management")
            return
        policy = policy_of(session.get(Merchant, order.connection.merchant_id))
        today = datetime.now(UTC).date()
        for r in receivables:
            plan = f" (installment {r.installment} of {r.installments})" if r.installment else ""
            click.echo(f"invoice {r.invoice.number}{plan}: {money(r.gross, r.currency)} due "
                       f"{r.due_on}, open {money(r.open_amount, r.currency)}, {r.status}"
                       + (f" ({r.stop_reason})" if r.stop_reason else "")
                       + (f", in default since {r.default_on}" if r.default_on
                          and r.default_on <= today and r.status == "open" else ""))
            for charge in r.charges:
                waived = f", waived {money(charge.waived, r.currency)} on {charge.waived_on} " \
                    f"({charge.waive_reason})" if charge.waived_on else ""
                click.echo(f"  {CHARGE_NAMES[charge.kind]} claimed "
                           f"{money(charge.claimed, r.currency)}, paid "
                           f"{money(charge.paid, r.currency)}{waived}, open "
                           f"{money(charge.open, r.currency)}")
            if r.handover_batch_id is not None:
                batch = session.get(HandoverBatch, r.handover_batch_id)
                click.echo(f"  handed over in batch {batch.id} on {batch.created_on}: "
                           f"{batch.delivered_to or 'waiting for the collection plugin'}")
            for step in r.steps:
                click.echo(f"  {step.taken_on}  {step.step_id:<22} {step.channel:<7} "
                           f"{step.action:<9} {_step_text(step)}")
            if r.status == "open":
                done = {s.step_id for s in r.steps}
                for planned in timeline(view_of(r), policy):
                    if planned.step.id not in done:
                        click.echo(f"  {planned.on}  {planned.step.id:<22} "
                                   f"{planned.step.channel.value:<7} "
                                   f"{planned.step.action.value:<9} planned")


def _step_text(step: DunningStep) -> str:
    status = {"to_send": "to be sent", "open": "call to make"}.get(step.status, step.status)
    notice = step.notice or {}
    parts = [status]
    if notice:
        currency = notice["currency"]
        owed = notice["principal"] + notice["fee"] + notice["interest"]
        parts.append(f"{notice['kind']} for {money(owed, currency)}")
        if notice["fee"] or notice["interest"]:
            parts.append(f"incl. fee {money(notice['fee'], currency)}, interest "
                         f"{money(notice['interest'], currency)}")
    if step.outcome:
        parts.append(f"outcome: {step.outcome}")
    if step.delivered_to:
        parts.append(f"-> {step.delivered_to}")
    if step.error:
        parts.append(f"error: {step.error}")
    return "; ".join(parts)


@dunning.command("waive")
@click.argument("shop")
@click.argument("order_id")
@click.option("--reason", required=True, help="Why the merchant lets the charges go.")
def dunning_waive(shop: str, order_id: str, reason: str) -> None:
    """Waive an order's flat fee and default interest: those claimed and open, and any the
    dunning would claim later (recorded, and shown in the statement)."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            ledger = Ledger(session)
            order = ledger.find_order(shop, order_id)
            waived = waive(ledger, order, reason, datetime.now(UTC).date())
            currency = order.currency
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"charges of order {order_id} waived: {money(waived, currency)} open; no "
               "more will be claimed")


@dunning.command("stop")
@click.argument("shop")
@click.argument("order_id")
@click.option("--dispute", is_flag=True, help="The buyer disputes the invoice.")
def dunning_stop(shop: str, order_id: str, dispute: bool) -> None:
    """Stop receivables management for an order (before its hand-over)."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            ledger = Ledger(session)
            stopped = stop_dunning(ledger, ledger.find_order(shop, order_id),
                                   "dispute" if dispute else "merchant")
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"receivables management stopped for {stopped} invoice(s) of order {order_id}")


def _steps_of(session: Session, shop: str, order_id: str, status: str) -> list[DunningStep]:
    """The order's dunning steps in ``status``, over all its invoices."""
    order = Ledger(session).find_order(shop, order_id)
    return list(session.scalars(
        select(DunningStep).join(Receivable, DunningStep.receivable_id == Receivable.id)
        .where(Receivable.order_id == order.id, DunningStep.status == status)))


@dunning.command("resend")
@click.argument("shop")
@click.argument("order_id")
def dunning_resend(shop: str, order_id: str) -> None:
    """Deliver an order's failed notices again on the next run (after fixing the cause)."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            failed = _steps_of(session, shop, order_id, "failed")
            for step in failed:
                step.status = "to_send"
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"{len(failed)} failed notice(s) of order {order_id} will be sent on the next "
               "run")


@dunning.command("calls")
def dunning_calls() -> None:
    """List the after-sales calls to make, with the buyer and the questions to ask."""
    kit = kit_or_fail()
    with session_scope(kit.engine, write=False) as session:
        rows = session.execute(
            select(DunningStep, Receivable, Order, ShopConnection)
            .join(Receivable, DunningStep.receivable_id == Receivable.id)
            .join(Order, Receivable.order_id == Order.id)
            .join(ShopConnection, Order.connection_id == ShopConnection.id)
            .where(DunningStep.status == "open").order_by(DunningStep.taken_on))
        for step, _receivable, order, connection in rows:
            buyer = order.snapshot["buyer"]
            click.echo(f"{step.taken_on}  {connection.name} {order.shop_order_id}  "
                       f"{buyer.get('company') or ''} <{buyer['email']}>: product received? "
                       "order successful? invoice received?")


@dunning.command("call")
@click.argument("shop")
@click.argument("order_id")
@click.option("--outcome", required=True, help="What the buyer said.")
def dunning_call(shop: str, order_id: str, outcome: str) -> None:
    """Record the outcome of an order's after-sales call."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine) as session:
            steps = _steps_of(session, shop, order_id, "open")
            if not steps:
                raise click.ClickException(f"order {order_id} has no call to make")
            for step in steps:
                step.status, step.outcome = "done", outcome
    except InvoicekitError as exc:
        fail(exc)
    click.echo(f"call outcome recorded for order {order_id}")


@dunning.command("policy")
@click.argument("merchant_id", type=int)
@click.option("--final", type=click.Choice(FINAL_CHOICES),
              help="End the documented timeline with hand-over to collection or with "
                   "cancellation after 30 days.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A whole policy as JSON (see docs/receivables.md).")
def dunning_policy(merchant_id: int, final: str | None, path: Path | None) -> None:
    """Show or choose a merchant's dunning policy (until 7 days after its first invoice)."""
    kit = kit_or_fail()
    try:
        with session_scope(kit.engine, write=final is not None or path is not None) as session:
            ledger = Ledger(session)
            if final or path:
                policy = Policy.from_json(json.loads(path.read_text(encoding="utf-8"))) \
                    if path else None
                merchant = choose_policy(ledger, merchant_id, final=final, policy=policy)
            else:
                merchant = ledger.merchant(merchant_id)
            first = first_invoice_day(ledger, merchant_id)
            chosen = merchant.dunning_policy_set_by or "not yet chosen; default applies"
            click.echo(f"merchant {merchant_id} dunning policy: {chosen}"
                       + (f" (choice open until {first + CHOICE_WINDOW})"
                          if first and not merchant.dunning_policy_set_by else ""))
            for step in policy_of(merchant).steps:
                click.echo(f"  {step.id:<22} {step.anchor.value} {step.offset_days:+d} days  "
                           f"{step.channel.value:<7} {step.action.value}")
    except (InvoicekitError, json.JSONDecodeError) as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--file") from None
        fail(exc)
