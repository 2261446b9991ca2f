"""Download links of e-invoices that need no sign-in: ``<public_url>/documents/<token>``.

The token is the document's ledger id, the file kind (``xml`` or ``pdf``, or ``girocode``: the
PNG of the invoice's EPC QR code, :mod:`core.writeback.girocode`) and the last day
the link works, signed with the instance's secret key (``itsdangerous``, HMAC-SHA256, a
salt of its own so that no session cookie is a valid token and no token a cookie). Nothing
is stored: the same document, kind and expiry always give the same token, so the link the
shop keeps does not change with every write-back. A token that is not signed by this
instance, was altered, has expired or names a document that is gone is refused alike.

A link works for :data:`VALID_DAYS` days after the document's date. Changing the secret
key (``INVOICEKIT_SECRET_KEY`` or the instance folder's ``secret_key``) ends every link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property, partial

from itsdangerous import BadData, URLSafeSerializer

from core.config import Settings, session_secret

__all__ = ["KINDS", "VALID_DAYS", "DocumentLinks", "Reference"]

KINDS = ("xml", "pdf", "girocode")
VALID_DAYS = 730  # two years after the document's date
_SALT = "invoicekit.einvoice.document-link.v1"


@dataclass(frozen=True, slots=True)
class Reference:
    """What a valid token names."""

    invoice_id: int
    kind: str
    expires_on: date


class DocumentLinks:
    """Signs and reads the tokens of one instance (its secret key and public URL)."""

    def __init__(self, secret: str | Callable[[], str], public_url: str) -> None:
        self._source = secret
        self.public_url = public_url

    def __repr__(self) -> str:  # never the key
        return f"DocumentLinks(public_url={self.public_url!r})"

    @classmethod
    def for_settings(cls, settings: Settings) -> DocumentLinks:
        """The links of the instance: its secret key (read when first needed) and its
        ``public_url``."""
        return cls(partial(session_secret, settings), settings.public_url)

    @cached_property
    def _serializer(self) -> URLSafeSerializer:
        secret = self._source() if callable(self._source) else self._source
        return URLSafeSerializer(secret, salt=_SALT)

    def token(self, invoice_id: int, kind: str, issued_on: date, *,
              expires_on: date | None = None) -> str:
        """The token of a document's ``xml``, ``pdf`` or ``girocode``, valid until ``expires_on``
        (default: :data:`VALID_DAYS` after ``issued_on``)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        expires = expires_on or issued_on + timedelta(days=VALID_DAYS)
        return str(self._serializer.dumps([invoice_id, kind, expires.toordinal()]))

    def url(self, invoice_id: int, kind: str, issued_on: date) -> str:
        """The absolute download URL of a document's ``xml``, ``pdf`` or ``girocode``."""
        return f"{self.public_url.rstrip('/')}/documents/{self.token(invoice_id, kind, issued_on)}"

    def read(self, token: str, today: date | None = None) -> Reference | None:
        """What ``token`` names, or ``None`` when it is not valid (whatever the reason)."""
        if not token or len(token) > 200:
            return None
        try:
            data = self._serializer.loads(token)
        except BadData:
            return None
        if not (isinstance(data, list) and len(data) == 3
                and type(data[0]) is int and data[1] in KINDS and type(data[2]) is int):
            return None
        try:
            expires = date.fromordinal(data[2])
        except (ValueError, OverflowError):
            return None
        if expires < (today or date.today()):
            return None
        return Reference(data[0], data[1], expires)
