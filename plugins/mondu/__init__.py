"""Mondu: B2B pay-by-invoice through Mondu's API v1 (a remote provider), and Mondu's own
webhooks as the ``mondu`` platform.

Registered through the ``invoicekit`` entry point ``mondu``. Modules:

* :mod:`~plugins.mondu.settings` reads the merchant's provider settings;
* :mod:`~plugins.mondu.client` is the HTTP client (``Api-Token`` header, timeouts, error
  mapping);
* :mod:`~plugins.mondu.payloads` builds request bodies (pure, integer cents);
* :mod:`~plugins.mondu.views` reads Mondu's order, invoice and credit note answers;
* :mod:`~plugins.mondu.operations` carries out and looks up the kit's operations;
* :mod:`~plugins.mondu.webhook` verifies (``X-Mondu-Signature``) and reads Mondu's webhooks;
* :mod:`~plugins.mondu.plugin` holds the hook implementations.

Facts and their sources are in ``docs/mondu.md``.
"""
