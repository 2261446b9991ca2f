"""The merchant's back office: a web page served by the same Flask app under ``/office``.

Users of one merchant sign in (``invoicekit users add``) and see only that merchant's
orders, deliveries, receivables and statements. Every change is a POST with a CSRF token,
after a confirmation, and runs through the same core functions as the command line. One
module per area registers its pages on the blueprint.
"""

from backoffice import deliveries, orders, receivables, sessions, shops, statements  # noqa: F401
from backoffice.blueprint import bp

__all__ = ["bp"]
