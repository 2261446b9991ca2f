"""A Shopware 6 stand-in for the tests, built from Shopware's own source: an Admin API on
127.0.0.1 that negotiates JSON and JSON:API like ``ResponseFactoryRegistry``, enforces the
app's ACL from the manifest the kit renders, and moves payment transactions only along the
``order_transaction`` state machine's transitions; and the shop's side of the app (the
registration handshake, webhooks, a checkout with the app's payment method and its pay URL).
Each behaviour names the Shopware file it follows."""

from shopware_standin.prices import Product, Promotion, priced_order
from shopware_standin.server import Call, Checkout, StandIn, php_json, running

__all__ = ["Call", "Checkout", "Product", "Promotion", "StandIn", "php_json",
           "priced_order", "running"]
