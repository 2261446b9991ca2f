"""Billie: B2B pay-by-invoice through Billie's API v2 (a remote provider), and Billie's own
webhooks as the ``billie`` platform.

Registered through the ``invoicekit`` entry point ``billie``. Modules:

* :mod:`~plugins.billie.settings` reads the merchant's provider settings;
* :mod:`~plugins.billie.wire` writes and reads JSON with exact decimals;
* :mod:`~plugins.billie.client` is the HTTP client (OAuth token, timeouts, error mapping);
* :mod:`~plugins.billie.payloads` builds request bodies (pure), with
  :mod:`~plugins.billie.legal_forms` for Billie's legal form codes;
* :mod:`~plugins.billie.views` reads Billie's order and invoice answers;
* :mod:`~plugins.billie.operations` carries out and looks up the kit's operations;
* :mod:`~plugins.billie.webhook` verifies and reads Billie's webhooks;
* :mod:`~plugins.billie.plugin` holds the hook implementations.
"""
