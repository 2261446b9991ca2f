"""Where dunning steps are executed: the daily tick.

``DailyTick(...).run(day)`` does, in this order, each part in short transactions of its own:

1. records the default policy for merchants whose 7-day choice window closed;
2. cancels orders authorised but not activated for two months (``expiry``);
3. takes the steps due: it reads only the receivables whose ``next_step_on`` has come
   (an index), decides each with :func:`core.receivables.schedule.decide` and records the
   step (unique per receivable and step) with what its notice says; ``BATCH`` receivables
   to a transaction (a batch in trouble is taken again one receivable to a transaction);
4. cancels the orders whose receivable reached a cancellation step;
5. delivers the notices decided (e-mails to SMTP or the outbox folder, letters as PDF),
   ``BATCH`` at a time: the files of a batch are made durable together, then the batch is
   recorded as delivered in one transaction;
6. hands the claims reached by a hand-over step to the ``handover_to_collection`` hook,
   one batch per merchant.

Every side effect is keyed in the ledger first, so a tick run twice, or again after a
worker died midway, repeats nothing: a step is recorded once, a notice marked delivered
after it went out (a crash in between sends that one notice again, with the same
Message-ID), a batch goes to the hook again under the same id until it is acknowledged.
"""

from __future__ import annotations

import calendar
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.errors import PermanentError, RetryableError, describe
from core.execute import close_order
from core.hooks import Hooks
from core.ledger.db import among, session_scope
from core.ledger.models import DunningStep, HandoverBatch, Invoice, Merchant, Order, Receivable
from core.ledger.store import Ledger
from core.receivables import charges, law
from core.receivables.batches import due_batch, receivables_by_id
from core.receivables.book import CHOICE_WINDOW, first_invoice_day, policy_of
from core.receivables.claims import handover_claim
from core.receivables.delivery import send_notices
from core.receivables.documents import Notice
from core.receivables.mail import MailSettings, Outbox
from core.receivables.notices import (
    LANGUAGES,
    charges_changed,
    default_on_of,
    no_longer_true,
    notice_data,
    notice_from_json,
)
from core.receivables.policy import Action, Channel, Policy, Step, default_policy
from core.receivables.rows import (
    DueReceivable,
    Writes,
    due_rows,
    notice_sources,
    receivable_rows,
)
from core.receivables.schedule import Decision, ReceivableView, decide, notice_kind
from core.risk.limits import claim_handed_over
from core.state import Status

__all__ = ["LANGUAGES", "DailyTick", "TickReport", "notice_from_json", "view_of"]

log = logging.getLogger(__name__)

BATCH = 500
Claimed = tuple[int, bool]  # a notice claimed to send: its receivable; claims it charges?
WRITTEN = (Channel.EMAIL, Channel.LETTER)  # the channels of a step with a notice
STATUS = {Channel.CALL: "open", Channel.NONE: "done"}  # a step's first status, else to_send
SENDING_LEASE = timedelta(minutes=10)  # a notice still "sending" after this is sent again


@dataclass
class TickReport:
    """What one run did."""

    day: date
    defaults_recorded: int = 0
    expired: int = 0
    taken: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    cancelled: int = 0
    delivered: int = 0
    handed_over: int = 0
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        steps = ", ".join(f"{n} {name}" for name, n in sorted(self.taken.items())) or "none"
        out = [f"dunning run for {self.day.isoformat()}",
               f"  steps taken: {steps}; skipped: {self.skipped}",
               f"  notices delivered: {self.delivered}",
               f"  claims handed over: {self.handed_over}; orders cancelled as unpaid: "
               f"{self.cancelled}",
               f"  authorisations expired: {self.expired}",
               f"  default policies recorded: {self.defaults_recorded}"]
        out += [f"  error: {error}" for error in self.errors]
        return out


def view_of(receivable: Receivable) -> ReceivableView:
    """What :func:`decide` needs of a stored receivable."""
    return ReceivableView(
        purchased_on=receivable.purchased_on, issued_on=receivable.issued_on,
        due_on=receivable.due_on, open_amount=receivable.owed,
        status=receivable.status, installment=receivable.installment is not None,
        taken={s.step_id: s.taken_on for s in receivable.steps if s.status != "skipped"},
        skipped=frozenset(s.step_id for s in receivable.steps if s.status == "skipped"))


def two_months_before(day: date) -> date:
    """The same day two months earlier, or that month's last day if it is shorter."""
    year, month = (day.year, day.month - 2) if day.month > 2 else (day.year - 1, day.month + 10)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class DailyTick:
    """The daily run of receivables management for one kit."""

    def __init__(self, engine: Engine, hooks: Hooks, home: Path,
                 mail: MailSettings | None = None,
                 base_rates: dict[str, object] | None = None) -> None:
        self.engine, self.hooks, self.home = engine, hooks, home
        self.mail = mail or MailSettings()
        self.outbox = Outbox(home, self.mail)
        self.law = law.GermanLaw(base_rates)

    @classmethod
    def for_settings(cls, engine: Engine, hooks: Hooks, settings: Settings) -> DailyTick:
        return cls(engine, hooks, settings.home, MailSettings.from_mapping(settings.mail),
                   dict(settings.dunning.get("base_rates", {})))

    def run(self, day: date | None = None) -> TickReport:
        report = TickReport(day or datetime.now(UTC).date())
        self._record_defaults(report)
        self._expire(report)
        self._take_steps(report)
        self._cancel(report)
        self._deliver(report)
        self._hand_over(report)
        log.info("; ".join(report.lines()))
        return report

    # -- 1. the merchants' choice ---------------------------------------------------------

    def _record_defaults(self, report: TickReport) -> None:
        with session_scope(self.engine) as session:
            ledger = Ledger(session)
            for merchant in session.scalars(select(Merchant).where(
                    Merchant.dunning_policy_set_by.is_(None)).with_for_update()):
                first = first_invoice_day(ledger, merchant.id)
                if first is not None and report.day > first + CHOICE_WINDOW:
                    merchant.dunning_policy = default_policy().to_json()
                    merchant.dunning_policy_set_by = "default"
                    merchant.dunning_policy_set_at = datetime.now(UTC)
                    report.defaults_recorded += 1

    # -- 2. expiry ------------------------------------------------------------------------

    def _expire(self, report: TickReport) -> None:
        cutoff = datetime.combine(two_months_before(report.day), datetime.min.time(), UTC)
        with session_scope(self.engine) as session:
            expired = list(session.scalars(select(Order.id).where(
                Order.status == Status.AUTHORISED.value, Order.created_at < cutoff)))
        for order_id in expired:
            try:
                outcome = close_order(self.engine, self.hooks, order_id, "expiry")
            except Exception as exc:  # still authorised: found again on the next run
                log.exception("cancelling expired order %s failed", order_id)
                report.errors.append(f"order {order_id}: {describe(exc)}")
                continue
            if outcome.failure is None:
                report.expired += 1
            else:
                report.errors.append(f"order {order_id} expired but is not cancelled yet: "
                                     f"{outcome.failure.error}")

    # -- 3. the steps due -----------------------------------------------------------------

    def _due_ids(self, day: date) -> list[int]:
        """Ids of the receivables due on ``day``: one read through the index."""
        with session_scope(self.engine, write=False) as session:
            return list(session.scalars(select(Receivable.id).where(
                Receivable.next_step_on <= day).order_by(Receivable.next_step_on,
                                                         Receivable.id)))

    def _take_steps(self, report: TickReport) -> None:
        """The steps due, ``BATCH`` receivables to a transaction: what the batch needs is
        read in a few queries, its steps recorded in one flush. A batch that meets any
        trouble is rolled back and taken again one receivable to a transaction, so one
        receivable's trouble stops no other."""
        policies: dict[int, Policy] = {}
        ids = self._due_ids(report.day)
        for start in range(0, len(ids), BATCH):
            batch = ids[start:start + BATCH]
            part = TickReport(report.day)
            try:
                with session_scope(self.engine) as session:
                    self._take_batch(session, batch, part, policies)
            except Exception:  # each is taken again on its own, below
                log.info("dunning batch from receivable %s taken one by one", batch[0])
            else:
                report.taken.update(part.taken)
                report.skipped += part.skipped
                continue
            for receivable_id in batch:
                try:
                    with session_scope(self.engine) as session:
                        for receivable in due_batch(session, [receivable_id],
                                                          report.day):
                            self._step(session, receivable, report, policies)
                except Exception as exc:  # one receivable's trouble must not stop the others
                    log.exception("dunning step for receivable %s failed", receivable_id)
                    report.errors.append(f"receivable {receivable_id}: {describe(exc)}")

    def _take_batch(self, session: Session, ids: list[int], report: TickReport,
                    policies: dict[int, Policy]) -> None:
        """The steps of the receivables ``ids`` due, read and recorded with Core
        (:mod:`core.receivables.rows`); a hand-over or cancellation, which does more, is
        taken with the ORM (:meth:`_step`) in its turn, the rows before it written first."""
        day = report.day
        rows = due_rows(session, ids, day)
        # held in the session (its identity map is weak): session.get finds them
        merchants = {i: session.get(Merchant, i) for i in sorted({r.merchant_id for r in rows})}
        session.info.setdefault("held", []).extend(merchants.values())
        due = [(r, decide(view_of(r), self._policy(session, r.merchant_id, policies), day))
               for r in rows]
        invoices, orders = notice_sources(session, [
            r for r, d in due if d.take is not None and d.take.step.channel in WRITTEN])
        writes = Writes(session)
        for receivable, decision in due:
            take = decision.take
            if take is not None and take.step.action in (Action.HANDOVER, Action.CANCEL):
                writes.flush()
                for held in due_batch(session, [receivable.id], day):
                    self._step(session, held, report, policies)
                session.flush()
                continue
            for planned in decision.skip:
                writes.step(receivable.id, planned.step.id, planned.step.action.value,
                            planned.step.channel.value, planned.on, day, "skipped")
                report.skipped += 1
            writes.move(receivable, decision.next_on)
            if take is None:
                continue
            step, notice = take.step, None
            if step.channel in WRITTEN:
                order = orders[receivable.order_id]
                notice = self._notice(session, receivable, step, day,
                                      invoices[receivable.invoice_id], order.order_number,
                                      order.buyer, merchants[receivable.merchant_id])
            writes.step(receivable.id, step.id, step.action.value, step.channel.value,
                        take.on, day, STATUS.get(step.channel, "to_send"), notice)
            report.taken[step.id] += 1
        writes.flush()

    @staticmethod
    def _policy(session: Session, merchant_id: int, policies: dict[int, Policy]) -> Policy:
        if merchant_id not in policies:
            policies[merchant_id] = policy_of(session.get(Merchant, merchant_id))
        return policies[merchant_id]

    def _step(self, session: Session, receivable: Receivable, report: TickReport,
              policies: dict[int, Policy]) -> None:
        policy = self._policy(session, receivable.merchant_id, policies)
        decision = decide(view_of(receivable), policy, report.day)
        for planned in decision.skip:
            session.add(_step_row(receivable, planned.step, planned.on, report.day, "skipped"))
            report.skipped += 1
        receivable.next_step_on = decision.next_on
        if decision.take is not None:
            self._take(session, receivable, decision, report)

    def _take(self, session: Session, receivable: Receivable, decision: Decision,
              report: TickReport) -> None:
        assert decision.take is not None
        step, day = decision.take.step, report.day
        row = _step_row(receivable, step, decision.take.on, day,
                        STATUS.get(step.channel, "to_send"))
        session.add(row)
        report.taken[step.id] += 1
        if step.action is Action.HANDOVER:
            # the charges the law allows today go with the claim: claimed now
            self._claim_charges(session, receivable, self._charges_due(session, receivable, day),
                                f"r{receivable.id}-{step.id}")
            receivable.status, receivable.next_step_on = "handed_over", None
            _journal(session, receivable, "handover", receivable.owed,
                     "handed over to the collection partner")
            claim_handed_over(session, receivable, receivable.invoice.number)
        elif step.action is Action.CANCEL:
            receivable.next_step_on = None
            if _order_paid(session, receivable.order_id):  # never credit money received
                receivable.status, receivable.stop_reason = "stopped", "partly_paid"
                row.status = "done"
                row.outcome = "not cancelled: the buyer paid part; the merchant decides"
                return
            receivable.status = "cancelling"
        if step.channel in WRITTEN:
            order = session.get(Order, receivable.order_id)
            row.notice = self._notice(session, receivable, step, day,
                                      session.get(Invoice, receivable.invoice_id),
                                      order.order_number, order.snapshot["buyer"])

    def _charges(self, session: Session, receivable: Receivable | DueReceivable, day: date,
                 merchant: Merchant | None = None) -> law.Charges:
        """What the law allows in all on ``day`` (nothing outside Germany); ``merchant``
        the receivable's, if at hand."""
        merchant = merchant or session.get(Merchant, receivable.merchant_id)
        if merchant.country != "DE":
            return law.Charges()
        return self.law.charges(principal=receivable.open_amount, currency=receivable.currency,
                                in_default_from=default_on_of(receivable), on=day)

    def _charges_due(self, session: Session, receivable: Receivable, day: date,
                     ) -> charges.ChargesDue:
        """The charges a notice (or the hand-over) states on ``day``: those claimed and
        open, and what the law allows beyond them."""
        allowed = self._charges(session, receivable, day)
        return charges.due_now(receivable, fee=allowed.fee, interest=allowed.interest)

    @staticmethod
    def _claim_charges(session: Session, receivable: Receivable, due: charges.ChargesDue,
                       key: str) -> None:
        if due.new_fee <= 0 and due.new_interest <= 0:
            return  # nothing claimed (the invoice's number is not read)
        ledger = Ledger(session)
        for kind, amount in (("fee", due.new_fee), ("interest", due.new_interest)):
            charges.claim(ledger, receivable, kind, amount, key=f"{key}:{kind}",
                          document_number=receivable.invoice.number)

    def _notice(self, session: Session, receivable: Receivable | DueReceivable, step: Step,
                day: date, invoice: Any, order_number: str, buyer: dict[str, Any],
                merchant: Merchant | None = None) -> dict[str, Any]:
        """What the step's notice says, kept with the step so it is rendered the same way
        however often its delivery is tried; ``invoice`` is the receivable's (its row
        will do), ``buyer`` the order's snapshot's, ``merchant`` the receivable's if at
        hand."""
        merchant = merchant or session.get(Merchant, receivable.merchant_id)
        kind = notice_kind(step.action, day, receivable.due_on)
        charged = kind in ("reminder", "final")  # what the law allows, worked out once
        allowed = self._charges(session, receivable, day, merchant) if charged \
            else law.Charges()
        return notice_data(receivable, step.id, day, kind, allowed, invoice, order_number,
                           buyer, merchant)

    # -- 4. cancellation ------------------------------------------------------------------

    def _cancel(self, report: TickReport) -> None:
        with session_scope(self.engine) as session:
            orders = sorted(set(session.scalars(select(Receivable.order_id).where(
                Receivable.status == "cancelling"))))
        for order_id in orders:
            try:
                outcome = close_order(self.engine, self.hooks, order_id, "dunning")
            except Exception as exc:  # stays "cancelling": tried again on the next run
                log.exception("cancelling order %s as unpaid failed", order_id)
                report.errors.append(f"order {order_id}: {describe(exc)}")
                continue
            if outcome.failure is not None:
                report.errors.append(f"order {order_id} is to be cancelled as unpaid: "
                                     f"{outcome.failure.error}")
                continue
            with session_scope(self.engine) as session:
                for receivable in session.scalars(select(Receivable).where(
                        Receivable.order_id == order_id,
                        Receivable.status.in_(("open", "cancelling", "settled")))
                        .with_for_update()):
                    if receivable.status != "settled" or receivable.paid < receivable.gross:
                        receivable.status, receivable.next_step_on = "cancelled", None
            report.cancelled += 1

    # -- 5. delivery ----------------------------------------------------------------------

    def _deliver(self, report: TickReport) -> None:
        """Send each notice decided, ``BATCH`` at a time: claimed (``sending``) in one
        transaction, sent outside any, the files made durable together, then recorded in
        another. A run that died while sending leaves them ``sending``; they are sent again
        (same Message-ID, the same file) once their lease ran out."""
        stale = datetime.now(UTC) - SENDING_LEASE
        with session_scope(self.engine, write=False) as session:
            ids = list(session.scalars(select(DunningStep.id).where(
                (DunningStep.status == "to_send")
                | ((DunningStep.status == "sending") & (DunningStep.updated_at < stale)))
                .order_by(DunningStep.id)))
        for start in range(0, len(ids), BATCH):
            claimed = self._claim_notices(ids[start:start + BATCH])
            with self.outbox.deferred_sync():  # the batch's files made durable together
                results = send_notices(self.outbox, self.mail.sender, claimed)
                try:  # recorded as sent only once the files are on disk
                    self.outbox.sync()
                except Exception as exc:
                    results = [(i, None, exc if e is None else e) for i, _, e in results]
            if results:
                self._settle_notices(results, report, {i: c for i, _, _, c in claimed})

    def _claim_notices(self, ids: list[int]) -> list[tuple[int, str, Notice, Claimed]]:
        """Mark the notices of steps ``ids`` that no other run holds ``sending``, or ``void``
        if no longer true; return those to send, each with its receivable and whether it
        claims charges."""
        out = []
        with session_scope(self.engine) as session:
            steps = list(session.execute(select(
                DunningStep.id, DunningStep.receivable_id, DunningStep.channel,
                DunningStep.status, DunningStep.notice).where(
                among(session, DunningStep.id, ids), DunningStep.status.in_(("to_send", "sending")))
                .order_by(DunningStep.id).with_for_update(skip_locked=True)))
            receivables = receivable_rows(session, {s.receivable_id for s in steps},
                                          steps=False)
            writes = Writes(session)
            for step_id, receivable_id, channel, status, data in steps:
                receivable = receivables[receivable_id]
                if receivable.status == "cancelling":
                    continue  # the buyer is told once the order is cancelled
                notice = notice_from_json(data or {})
                void = no_longer_true(notice, receivable) or charges_changed(
                    data or {}, receivable)
                if void:
                    writes.status(step_id, status="void", error=void)
                    continue
                if status != "sending":  # a stale one keeps its time, as the ORM kept it
                    writes.status(step_id, status="sending")
                claims = any(((data or {}).get("claims") or {}).values())
                out.append((step_id, channel, notice, (receivable_id, claims)))
            writes.flush()
        return out

    def _settle_notices(self, results: list[tuple[int, str | None, Exception | None]],
                        report: TickReport, claimed: dict[int, Claimed]) -> None:
        """Record what sending did, in one transaction; should that fail, one transaction
        per notice. ``claimed``: each step's receivable and whether its notice claims
        charges, from :meth:`_claim_notices`."""
        part = TickReport(report.day)
        try:
            with session_scope(self.engine) as session:
                if self._settle_rows(session, results, part, claimed):
                    report.delivered += part.delivered
                    report.errors += part.errors
                    return
                steps = {s.id: s for s in session.scalars(select(DunningStep).where(
                    DunningStep.id.in_([step_id for step_id, _, _ in results])))}
                receivables = receivables_by_id(
                    session, {s.receivable_id for s in steps.values()}, lock=True)
                for step_id, where, exc in results:
                    step = steps[step_id]
                    self._settle(session, step, receivables[step.receivable_id], where, exc,
                                 part)
        except Exception:  # each is recorded again on its own, below
            log.info("notices from step %s recorded one by one", results[0][0])
            for step_id, where, exc in results:
                self._settle_notice(step_id, where, exc, report)
        else:
            report.delivered += part.delivered
            report.errors += part.errors

    @staticmethod
    def _settle_rows(session: Session, results: list[tuple[int, str | None, Exception | None]],
                     report: TickReport, claimed: dict[int, Claimed]) -> bool:
        """Record what sending did as :meth:`_settle` does, with Core, unless a notice sent
        claims charges (then False: nothing done, the ORM records them)."""
        if any(exc is None and claimed[step_id][1] for step_id, _, exc in results):
            return False
        receivables = receivable_rows(
            session, {claimed[i][0] for i, _, exc in results if exc is None}, lock=True,
            charges=False)
        writes = Writes(session)
        for step_id, where, exc in results:
            if exc is None:
                writes.status(step_id, status="done", delivered_to=where, error=None)
                receivable = receivables[claimed[step_id][0]]
                for row in receivable.steps:  # as the ORM's step object, done now
                    if row.id == step_id:
                        row.status = "done"
                writes.default(receivable, default_on_of(receivable))
                report.delivered += 1
            elif isinstance(exc, RetryableError):
                writes.status(step_id, status="to_send", error=str(exc))
                report.errors.append(f"notice {step_id}: {exc} (tried again next run)")
            else:  # refused for good, or a bug: shown, resent by hand
                error = str(exc) if isinstance(exc, PermanentError) else describe(exc)
                writes.status(step_id, status="failed", error=error)
                report.errors.append(f"notice {step_id} failed: {error}")
        writes.flush()
        return True

    def _settle_notice(self, step_id: int, where: str | None, exc: Exception | None,
                       report: TickReport) -> None:
        with session_scope(self.engine) as session:
            step = session.get(DunningStep, step_id)
            receivable = session.scalars(select(Receivable).where(
                Receivable.id == step.receivable_id).with_for_update()
                .execution_options(populate_existing=True)).one() if exc is None else None
            self._settle(session, step, receivable, where, exc, report)

    def _settle(self, session: Session, step: DunningStep, receivable: Receivable | None,
                where: str | None, exc: Exception | None, report: TickReport) -> None:
        if exc is None:
            assert receivable is not None
            step.status, step.delivered_to, step.error = "done", where, None
            claims = (step.notice or {}).get("claims") or {}
            self._claim_charges(session, receivable, charges.ChargesDue(
                new_fee=claims.get("fee", 0), new_interest=claims.get("interest", 0)),
                (step.notice or {}).get("key", f"step{step.id}"))
            receivable.default_on = default_on_of(receivable)
            report.delivered += 1
        elif isinstance(exc, RetryableError):
            step.status, step.error = "to_send", str(exc)
            report.errors.append(f"notice {step.id}: {exc} (tried again next run)")
        else:  # refused for good, or a bug: shown, resent by hand
            step.status = "failed"
            step.error = str(exc) if isinstance(exc, PermanentError) else describe(exc)
            report.errors.append(f"notice {step.id} failed: {step.error}")

    # -- 6. hand-over ---------------------------------------------------------------------

    def _hand_over(self, report: TickReport) -> None:
        with session_scope(self.engine) as session:
            waiting = list(session.execute(select(Receivable.merchant_id, Receivable.id).where(
                Receivable.status == "handed_over", Receivable.handover_batch_id.is_(None))
                .with_for_update(skip_locked=True)))
            by_merchant: dict[int, list[int]] = {}
            for merchant_id, receivable_id in waiting:
                by_merchant.setdefault(merchant_id, []).append(receivable_id)
            for merchant_id, ids in by_merchant.items():
                batch = HandoverBatch(merchant_id=merchant_id, created_on=report.day)
                session.add(batch)
                session.flush()
                for receivable in session.scalars(select(Receivable).where(
                        Receivable.id.in_(ids))):
                    receivable.handover_batch_id = batch.id
        with session_scope(self.engine) as session:
            batches = list(session.scalars(select(HandoverBatch.id).where(
                HandoverBatch.delivered_to.is_(None)).order_by(HandoverBatch.id)))
        for batch_id in batches:
            with session_scope(self.engine) as session:
                batch = session.scalars(select(HandoverBatch).where(
                    HandoverBatch.id == batch_id, HandoverBatch.delivered_to.is_(None))
                    .with_for_update(skip_locked=True)).one_or_none()
                if batch is None:  # another run has it, or had it
                    continue
                claims = [handover_claim(session, r, batch.created_on)
                          for r in session.scalars(select(Receivable).where(
                              Receivable.handover_batch_id == batch_id).order_by(Receivable.id))]
                try:
                    batch.delivered_to = self.hooks.handover_to_collection(
                        batch_id, batch.merchant_id, claims, self.home)
                except Exception as exc:  # the batch stays undelivered: the next run
                    log.exception("hand-over batch %s failed", batch_id)
                    report.errors.append(f"hand-over batch {batch_id}: {describe(exc)} "
                                         "(tried again next run)")
                    continue
                report.handed_over += len(claims)


def _journal(session: Session, receivable: Receivable, kind: str, amount: int,
             description: str) -> None:
    """A movement of the receivable for the merchant's statement, once per kind."""
    Ledger(session).journal(
        merchant_id=receivable.merchant_id, order_id=receivable.order_id, kind=kind,
        amount=amount, currency=receivable.currency,
        idempotency_key=f"{kind}:receivable:{receivable.id}", description=description,
        document_number=receivable.invoice.number)


def _step_row(receivable: Receivable, step: Step, scheduled_on: date, day: date,
              status: str) -> DunningStep:
    return DunningStep(receivable_id=receivable.id, step_id=step.id, action=step.action.value,
                       channel=step.channel.value, scheduled_on=scheduled_on, taken_on=day,
                       status=status)


def _order_paid(session: Session, order_id: int) -> bool:
    return any(r.paid > 0 for r in session.scalars(select(Receivable).where(
        Receivable.order_id == order_id)))
