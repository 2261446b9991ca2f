"""``GET /documents/<token>``: an e-invoice for the buyer, or its GiroCode, without sign-in.

The token (:mod:`core.einvoice.links`) is signed by this instance and names one document,
the file (XRechnung XML or ZUGFeRD PDF, or the PNG of the invoice's EPC QR code) and until
when the link works; the shop shows the link to its buyer (the write-back's
``invoice_document_url`` and ``girocode_url``). A token that is malformed, forged, altered,
expired or names a document that is gone (or an invoice with no GiroCode now: nothing
owed) gets the same bare 404, and no log line repeats a token: it is a password for one
document.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from core.einvoice.documents import document_file, safe_name
from core.einvoice.links import DocumentLinks
from core.errors import InvoicekitError
from core.ledger.db import session_scope
from core.ledger.models import Invoice
from core.ledger.store import Ledger
from core.writeback.girocode import KIND as GIROCODE
from core.writeback.girocode import girocode_png

__all__ = ["bp"]

bp = Blueprint("documents", __name__)
log = logging.getLogger("invoicekit.documents")
PRIVATE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex, nofollow"}


def _plain(status: int, text: str) -> Response:
    response = Response(text + "\n", status=status, mimetype="text/plain")
    response.headers.update(PRIVATE)
    return response


def _girocode(png: bytes | None, number: str) -> Response:
    """The GiroCode shown in the page or e-mail (inline), or 404 when there is none."""
    if png is None:
        return _plain(404, "Not found")
    response = Response(png, mimetype="image/png")
    response.headers["Content-Disposition"] = f'inline; filename="girocode-{safe_name(number)}.png"'
    response.headers.update(PRIVATE)
    return response


@bp.route("/documents/<token>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def download(token: str) -> Response:
    """The document's file with its name, or 404 for any token that is not valid. Other
    methods are answered here, not by the app's error handler, which logs the path."""
    if request.method not in ("GET", "HEAD"):
        response = _plain(405, "Method not allowed")
        response.headers["Allow"] = "GET, HEAD"
        return response
    kit = current_app.extensions["invoicekit"]
    reference = DocumentLinks.for_settings(kit.settings).read(token)
    if reference is None:
        return _plain(404, "Not found")
    number, merchant_id = reference.invoice_id, None
    try:
        with session_scope(kit.engine) as session:  # the first download stores the document
            ledger = Ledger(session)
            invoice = session.get(Invoice, reference.invoice_id)
            if invoice is None:
                return _plain(404, "Not found")
            number, merchant_id = invoice.number, invoice.merchant_id
            if reference.kind == GIROCODE:
                return _girocode(girocode_png(ledger, invoice), number)
            file = document_file(ledger, invoice, reference.kind)
    except InvoicekitError as exc:
        log.warning("document %s (%s) of merchant %s cannot be made: %s", number,
                    reference.kind, merchant_id, exc)
        return _plain(503, "The document cannot be made right now; please ask the seller.")
    except Exception as exc:  # never Flask's handler: its log line would carry the token
        log.error("document %s (%s) cannot be served: %s", reference.invoice_id,
                  reference.kind, type(exc).__name__)
        return _plain(503, "The document cannot be made right now; please ask the seller.")
    response = Response(file.data, mimetype=file.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers.update(PRIVATE)
    return response
