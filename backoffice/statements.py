"""Weekly statements to download, and the chart of paid, open and overdue per week."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Response, abort, g, render_template, send_file
from sqlalchemy import func, select

from backoffice.auth import signed_in
from backoffice.blueprint import bp, today
from core.errors import ConfigurationError
from core.ledger.db import session_scope
from core.ledger.models import Merchant, Receivable
from core.money import money_text
from core.statements.build import build_statement, parse_week, week_of
from webhooks.receiver import current_kit

__all__ = ["statement_file", "statements"]


WEEKS = 8  # the statements and chart show this many weeks back
MAX_AHEAD = 52  # the chart shows at most this many weeks after this week


def _weeks(today: date) -> list[tuple[str, date]]:
    """This ISO week (so far) and the ``WEEKS - 1`` before it, newest first, with their
    Mondays."""
    return [(week_of(day), parse_week(week_of(day))[0])
            for day in (today - timedelta(days=7 * n) for n in range(WEEKS))]


def weeks_ahead(session: Any, merchant_id: int, today: date) -> int:
    """How many weeks after this one the chart shows: up to the week an invoice issued
    today falls due (the merchant's payment term, and the last installment's period), and
    up to the last open invoice's due date; at most :data:`MAX_AHEAD`."""
    merchant = session.get(Merchant, merchant_id)
    installments = session.scalar(select(func.max(Receivable.installments)).where(
        Receivable.merchant_id == merchant_id)) or 1
    days = merchant.payment_term_days + (installments - 1) * merchant.installment_interval_days
    last_due = session.scalar(select(func.max(Receivable.due_on)).where(
        Receivable.merchant_id == merchant_id,
        Receivable.status.not_in(("settled", "cancelled"))))
    if last_due is not None:
        days = max(days, (last_due - today).days)
    monday = today - timedelta(days=today.weekday())
    return min((today + timedelta(days=days) - monday).days // 7 + 1, MAX_AHEAD)


def _chart(session: Any, merchant_id: int, today: date) -> list[dict[str, Any]]:
    """Per week of the due date (the last weeks and the next ones): what is paid, open and
    overdue of the merchant's invoices, in EUR cents of EUR invoices."""
    ahead = weeks_ahead(session, merchant_id, today)
    first = today - timedelta(days=7 * (WEEKS - 1) + today.weekday())
    rows = session.execute(select(Receivable.due_on, Receivable.paid, Receivable.gross
                                  - Receivable.credited - Receivable.paid, Receivable.status)
                           .where(Receivable.merchant_id == merchant_id,
                                  Receivable.currency == "EUR",
                                  Receivable.due_on >= first,
                                  Receivable.due_on < first + timedelta(weeks=WEEKS + ahead)))
    bars: dict[date, dict[str, int]] = {first + timedelta(weeks=n): {
        "paid": 0, "open": 0, "overdue": 0} for n in range(WEEKS + ahead)}
    for due_on, paid, open_, status in rows:
        bar = bars[due_on - timedelta(days=due_on.weekday())]
        bar["paid"] += int(paid)
        if open_ > 0 and status not in ("settled", "cancelled"):
            bar["overdue" if due_on < today else "open"] += int(open_)
    top = max((sum(b.values()) for b in bars.values()), default=0) or 1
    return [{"week": week_of(monday), **{f"{k}_px": 120 * v // top for k, v in bar.items()},
             "label": f"{week_of(monday)}: " + ", ".join(
                 f"{k} {money_text(v, 'EUR')}" for k, v in bar.items())}
            for monday, bar in sorted(bars.items())]


@bp.get("/statements")
@signed_in
def statements() -> str:
    day = today()
    with session_scope(current_kit().engine, write=False) as s:
        chart = _chart(s, g.merchant_id, day)
    return render_template("office/statements.html", weeks=_weeks(day), chart=chart)


@bp.get("/statements/<week>.<kind>")
@signed_in
def statement_file(week: str, kind: str) -> Response:
    """One week's statement of the merchant, built (again) from the journal."""
    if kind not in ("csv", "pdf"):
        abort(404)
    try:
        parse_week(week, latest=today())  # from 2000 to this week
    except ConfigurationError:
        abort(404)
    kit = current_kit()
    built = build_statement(kit.engine, g.merchant_id, week, kit.settings.home / "statements")
    path = built.csv_path if kind == "csv" else built.pdf_path
    file = path.open("rb")  # a build at the same time replaces the path, not this file
    answer = send_file(file, as_attachment=True, download_name=path.name, etag=False)
    answer.content_length = file.seek(0, 2)
    file.seek(0)
    return answer
