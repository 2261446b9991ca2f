"""The kit's checkout page, for shops whose checkout cannot show the provider's widget
(Shopware's app: :mod:`plugins.shopware.widget`).

``GET /checkout/<token>``: the page loads the provider's script (Billie's
``widget.script_url``) and ``static/checkout/checkout.js`` mounts the widget
(``BillieCheckoutWidget.mount({billie_config_data, billie_order_data})``, the amounts as
JSON numbers). When the buyer confirmed, the script posts the widget's answer to
``POST /checkout/<token>/confirm`` (the token authenticates; JSON numbers are read exactly),
which confirms the session for the shop's order (:func:`core.checkout.confirm_page`) and
answers where the buyer goes: the shop's ``returnUrl``. Closed or declined in the widget,
the page goes back there too; the shop's finalize request then learns what came of it.

The page's Content-Security-Policy is the strict one of :mod:`webhooks.security` widened by
the origin of the provider's script only (its script, frames, connections, styles, images
and fonts), and inline styles (which widgets set on what they add; Billie's real script
could not be tried here). An unknown or expired token is a 404 page that echoes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, make_response, render_template, request, url_for

from core.checkout import NO_SUCH_PAGE, confirm_page, page
from core.errors import InvoicekitError, NotFound, PayloadError
from core.schemas import read_json_object
from webhooks.receiver import current_kit
from webhooks.security import PAGE_POLICY

__all__ = ["bp", "policy"]

bp = Blueprint("checkout_page", __name__, template_folder="templates",
               static_folder="static/checkout", static_url_path="/checkout/static")
log = logging.getLogger("invoicekit.receiver")

TEXTS = {
    "en": {"title": "Purchase on account", "waiting": "Please confirm your purchase on "
           "account in the window that opens.", "back": "Back to the shop",
           "missing": "This checkout page does not exist or has expired."},
    "de": {"title": "Kauf auf Rechnung", "waiting": "Bitte bestätigen Sie den Kauf auf "
           "Rechnung im Fenster, das sich öffnet.", "back": "Zurück zum Shop",
           "missing": "Diese Bezahlseite gibt es nicht oder sie ist abgelaufen."},
}


def _texts() -> dict[str, str]:
    return TEXTS[request.accept_languages.best_match(["en", "de"]) or "en"]


def policy(script_url: str) -> str:
    """The page's Content-Security-Policy: :data:`PAGE_POLICY` and the script's origin."""
    parts = urlsplit(script_url)
    origin = f"https://{parts.netloc}"
    if parts.scheme != "https" or not parts.netloc or any(c in parts.netloc for c in " ;,'"):
        raise PayloadError({"widget.script_url": ["must be an https URL"]})
    # styles inline too: a widget commonly sets them on the elements it adds; this page
    # shows nothing of anyone's data, and scripts stay limited to the two origins
    return (f"{PAGE_POLICY}; script-src 'self' {origin}; connect-src 'self' {origin}; "
            f"frame-src {origin}; style-src 'self' 'unsafe-inline' {origin}; "
            f"img-src 'self' data: {origin}; font-src 'self' {origin}")


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _missing() -> tuple[Response, int]:
    return _private(make_response(render_template("checkout/missing.html",
                                                  texts=_texts()))), 404


@bp.get("/checkout/<token>")
def show(token: str) -> Response | tuple[Response, int]:
    found = page(current_kit().engine, token, datetime.now(UTC))
    if found is None:
        return _missing()
    widget = found.widget
    data: dict[str, Any] = {
        "script_url": widget["script_url"], "config": widget.get("config") or {},
        "order_data": widget.get("order_data") or {}, "return_url": found.return_url,
        "confirm_url": url_for("checkout_page.confirm", token=token),
        "state": found.state}
    response = make_response(render_template(
        "checkout/page.html", data=data, texts=_texts(),
        script=url_for("checkout_page.static", filename="checkout.js")))
    response.headers["Content-Security-Policy"] = policy(widget["script_url"])
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays on this page
    return _private(response)


@bp.post("/checkout/<token>/confirm")
def confirm(token: str) -> tuple[Response, int]:
    kit = current_kit()
    answer = read_json_object(request.get_data(cache=False), exact_numbers=True)
    try:
        confirmed, return_url = confirm_page(kit.engine, kit.hooks, token, answer,
                                             datetime.now(UTC))
    except NotFound:
        return jsonify(error=NO_SUCH_PAGE), 404
    except PayloadError:
        raise
    except InvoicekitError as exc:
        log.warning("POST /checkout/…/confirm -> 502: %s", exc)
        found = page(kit.engine, token, datetime.now(UTC))
        return jsonify(error="the provider could not be asked",
                       redirect=found.return_url if found else None), 502
    return jsonify({**confirmed.to_json(), "redirect": return_url}), 200
