"""The merchant's back office: a web page served by the same Flask app under ``/office``.

Users of one merchant sign in (``invoicekit users add``) and see only that merchant's
orders, deliveries and operations. Every change is a POST with a CSRF token, after a
confirmation page, and runs through the same core functions as the command line.
"""

from backoffice.views import bp

__all__ = ["bp"]
