"""The back office's blueprint and what its pages share: one merchant's rows only, the clock
("today" for every page, fixed by tests with the app's ``OFFICE_NOW``), the merchant's time
zone for every time shown (the ``local`` filter), lists paged by :data:`PAGE` rows, and
errors answered as pages with a way back (not the receiver's JSON)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import Select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Conflict, HTTPException

from core.errors import InvoicekitError, NotFound
from core.ledger.db import session_scope
from core.ledger.models import Merchant, Order
from core.ledger.store import Ledger
from webhooks.receiver import current_kit

__all__ = ["PAGE", "NotApplicable", "Paged", "bp", "local_time", "now", "own_order", "paged",
           "today", "zone"]

bp = Blueprint("backoffice", __name__, url_prefix="/office", template_folder="templates",
               static_folder="static")
PAGE = 50  # rows per list
DEFAULT_ZONE = "Europe/Berlin"
log = logging.getLogger("invoicekit.office")


@bp.get("/")
def home() -> Response:
    return redirect(url_for("backoffice.orders"))


def own_order(ledger: Ledger, order_id: int) -> Order:
    """The order, if it belongs to the signed-in merchant; 404 otherwise (another
    merchant's order looks like one that does not exist)."""
    order = ledger.session.get(Order, order_id)
    if order is None or order.connection.merchant_id != g.merchant_id:
        abort(404)
    g.audit_order_id = order.id  # the POST's audit event names only an order of its own
    return order


# -- the clock ----------------------------------------------------------------------------


def now() -> datetime:
    """The back office's "now" (UTC): the app's ``OFFICE_NOW`` when set (tests), else the
    real one. Every page asks this, never the system clock itself."""
    fixed = current_app.config.get("OFFICE_NOW")
    return fixed if fixed is not None else datetime.now(UTC)


def today() -> date:
    """The day the back office's lists count from (UTC, as the daily dunning run)."""
    return now().date()


# -- the merchant's time zone ---------------------------------------------------------------


def zone() -> ZoneInfo:
    """The signed-in merchant's time zone (``merchants configure --time-zone``), read once
    per request."""
    if "office_zone" not in g:
        name = DEFAULT_ZONE
        if g.get("merchant_id") is not None:
            with session_scope(current_kit().engine, write=False) as s:
                merchant = s.get(Merchant, g.merchant_id)
                name = (merchant.time_zone if merchant else None) or DEFAULT_ZONE
        try:
            g.office_zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            g.office_zone = ZoneInfo(DEFAULT_ZONE)
    return g.office_zone


@bp.app_template_filter("local")
def local_time(value: datetime | date | str | None) -> str:
    """A time in the merchant's time zone with the zone's abbreviation
    (``2026-12-07 09:15 CET``); stored times without a zone are UTC, and so are ISO texts
    (``order_details`` gives times as text). Dates stay dates."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return value.isoformat()
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(zone()).strftime("%Y-%m-%d %H:%M %Z")


# -- paging -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paged:
    """One page of a list: its rows, its number (from 1) and whether more follow."""

    rows: list[Any]
    page: int
    more: bool
    param: str = "page"

    def link(self, page: int) -> str:
        """The current page's address with ``page`` instead of its page."""
        args = request.args.to_dict()
        args[self.param] = str(page)
        return url_for(request.endpoint or "backoffice.orders",
                       **(request.view_args or {}), **args)


def page_number(param: str = "page") -> int:
    """The page asked for in ``param`` (1 when absent or not a number)."""
    text = request.args.get(param, "1")
    return min(max(int(text), 1), 100_000) if text.isdigit() and len(text) < 7 else 1


def paged(session: Session, query: Select[Any], *, scalars: bool = False,
          param: str = "page") -> Paged:
    """The asked page of ``query`` (already ordered): :data:`PAGE` rows, and whether more
    follow; ``param`` names the page in the address (two lists on one page)."""
    number = page_number(param)
    query = query.limit(PAGE + 1).offset((number - 1) * PAGE)
    rows = list(session.scalars(query) if scalars else session.execute(query))
    return Paged(rows[:PAGE], number, len(rows) > PAGE, param)


# -- errors as pages ------------------------------------------------------------------------


def _back() -> str:
    """Where the error page's link leads: the page the form was on, else the orders."""
    referrer = request.referrer or ""
    host = request.host_url.rstrip("/")
    if referrer.startswith(f"{host}/office/") and not referrer.startswith(
            f"{host}/office/sign-in"):
        return referrer
    return url_for("backoffice.orders")


class NotApplicable(Conflict):
    """An action the order's state does not allow (409), with the page to go back to."""

    def __init__(self, message: str, back: str) -> None:
        super().__init__(message)
        self.back = back


def error_page(status: int, title: str, message: str,
               back: str | None = None) -> tuple[str, int]:
    return render_template("office/error.html", status=status, title=title,
                           message=message, back=back or _back()), status


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[str, int] | HTTPException:
    if exc.code is None or exc.code < 400:
        return exc
    message = exc.description or ""
    if exc.code == 404:
        message = "There is no such page, or it belongs to another merchant."
    if isinstance(exc, NotApplicable):
        return error_page(409, "Not possible now", message, exc.back)
    return error_page(exc.code, exc.name, message)


@bp.errorhandler(InvoicekitError)
def kit_error(exc: InvoicekitError) -> tuple[str, int]:
    if isinstance(exc, NotFound):
        return error_page(404, "Not Found", str(exc))
    log.warning("office %s %s: %s", request.method, request.path, exc)
    return error_page(409, "Not done", str(exc))
