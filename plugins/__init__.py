"""Built-in plugins, each registered through the ``invoicekit`` entry-point group in setup.cfg
exactly like a third-party plugin: shop platforms (``woocommerce``, ``shopware``,
``generic``) and remote providers (``billie``)."""
