"""The app's payment method "Purchase on account with Billie (B2B)": Shopware's ASYNC pay
and finalize URLs, sending the buyer to the kit's checkout page with Billie's widget.

What Shopware does, from its source (shopware/shopware at v6.5.8.14 and v6.6.7.1):

* A ``<payment-method>`` with a ``<finalize-url>`` besides its ``<pay-url>``
  (App/Manifest/Schema/manifest-2.0.xsd, type ``payment-method``) is asynchronous: 6.5 hands
  it to App/Payment/Handler/AppAsyncPaymentHandler.php (Checkout/Payment/Cart/
  PaymentHandler/PaymentHandlerRegistry.php: ``finalize_url`` empty → AppSyncPaymentHandler,
  else AppAsyncPaymentHandler); from 6.6.5 App/Payment/Handler/AppPaymentHandler.php
  serves every app method (``pay``, ``finalize``).
* Pay: the order is created first (``checkout.order.placed``), then the pay URL gets the
  order, its transaction and ``returnUrl``: 6.5 Payload/Struct/AsyncPayPayload.php
  (``source``, ``orderTransaction``, ``order``, ``returnUrl``, ``requestData``,
  ``recurring``), 6.6.5+ Payload/Struct/PaymentPayload.php (also ``queryParameters``,
  ``validateStruct``). ``returnUrl`` is ``<shop>/payment/finalize-transaction?
  _sw_payment_token=<JWT>`` (route ``payment.finalize.transaction``; 6.5 Checkout/Payment/
  Cart/PaymentTransactionChainProcessor.php ``assembleReturnUrl``, 6.6 Checkout/Payment/
  PaymentProcessor.php ``getReturnUrl``), valid ``core.cart.paymentFinalizeTransactionTime``
  minutes, by default 1800 s (Checkout/Payment/Cart/Token/TokenStruct.php).
* The pay answer ``{"redirectUrl": …}`` sends the buyer there. 6.5: the transaction is set
  ``unconfirmed`` first (``processUnconfirmed``), ``status`` defaults to
  ``process_unconfirmed`` (no further transition), a ``message`` or ``status`` ``fail``
  fails it, and an answer with neither a redirectUrl nor a failure is refused ("No redirect
  URL provided by App", Response/AsyncPayResponse.php ``validate``). 6.6.5+: a redirectUrl
  without status transitions ``process_unconfirmed``; an answer WITHOUT redirectUrl is
  allowed: its ``status`` is applied and the payment is done without finalize
  (AppPaymentHandler ``pay`` returns null; Response/PaymentResponse.php).
* Finalize: when the buyer comes back to ``returnUrl``, Shopware posts to the finalize URL
  the transaction and the return's query (without ``_sw_payment_token``): 6.5 Payload/
  Struct/AsyncFinalizePayload.php (``source``, ``orderTransaction``, ``queryParameters``,
  ``recurring``; no ``order``), 6.6.5+ PaymentPayload (with ``order``, ``requestData``).
  The answer (6.5 Response/AsyncFinalizeResponse.php, 6.6.5+ PaymentResponse) is
  ``{"status": <transition>}``: ``authorize`` (unconfirmed → authorized), ``paid``…;
  ``cancel`` (with an optional ``message``) cancels it as the customer's
  (PaymentException ``customerCanceled``), ``fail`` or any ``message`` fails it. 6.5
  defaults ``status`` to ``paid``, 6.6.5+ to ``process_unconfirmed``: the kit always names
  it. A failed or cancelled payment sends the buyer to the order's "Complete payment" page.
* Both requests are signed like the synchronous pay URL and only answers signed with the
  shop secret are accepted (``shopware-shop-signature`` / ``shopware-app-signature``,
  App/Hmac/Guzzle/AuthMiddleware.php ``VALIDATED_RESPONSE``, App/Payment/Payload/
  PaymentPayloadService.php, 20 s timeout): see :mod:`plugins.shopware.payment`.

The kit: pay decides as the synchronous method (declined: ``fail`` with the buyer's
message), then opens Billie's checkout session for the order (:func:`core.checkout.open_page`)
and answers the kit's page, ``<public_url>/checkout/<token>``. Finalize answers what came of
it. A shop whose provider has no widget (the local provider) is answered like the
synchronous method from 6.6.5 (``authorize`` without redirect); 6.5 cannot take that, so it
fails there with a sentence saying to choose "Purchase on account (B2B)".

The order's ``checkout.order.placed`` arrives before the buyer confirmed in the widget, so
the placement waits for ``state_enter.order_transaction.state.authorized``
(:mod:`plugins.shopware.plugin`), which finalize's ``authorize`` fires; it then adopts the
order Billie created (:func:`core.checkout.authorised_for` by the order number).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.checkout import PageRequest, Shop, open_page, payment_state
from core.context import AppResponse, CheckoutCart
from core.errors import InvoicekitError, NotFound, PayloadError, SignatureError
from core.hooks import Hooks
from core.ledger.store import Ledger
from plugins.shopware.payment import (
    Decided,
    decided,
    declined,
    message,
    money,
    signed,
    verified,
)

__all__ = ["finalize", "pay"]

log = logging.getLogger("invoicekit.shopware")
_OURS = (NotFound, PayloadError, SignatureError)

TEXTS = {
    "en": {
        "unavailable": "Purchase on account with Billie is not available at the moment.",
        "only_billie": "This payment method is not offered for this shop: please choose "
                       "\"Purchase on account (B2B)\".",
        "not_confirmed": "You did not confirm the purchase on account with Billie.",
        "choose": "Please choose another payment method.",
    },
    "de": {
        "unavailable": "Kauf auf Rechnung mit Billie ist gerade nicht möglich.",
        "only_billie": "Diese Zahlungsart wird in diesem Shop nicht angeboten: Bitte wählen "
                       "Sie \"Kauf auf Rechnung (B2B)\".",
        "not_confirmed": "Sie haben den Kauf auf Rechnung bei Billie nicht bestätigt.",
        "choose": "Bitte wählen Sie eine andere Zahlungsart.",
    },
}


def text(key: str, language: str | None) -> str:
    texts = TEXTS["de" if (language or "").lower().startswith("de") else "en"]
    return texts[key] if key == "only_billie" else f"{texts[key]} {texts['choose']}"


def _version(headers: Mapping[str, str]) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in (headers.get("sw-version") or "").split(".")[:3])
    except ValueError:
        return ()


def _text_of(value: Any, limit: int) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _cart(found: Decided) -> CheckoutCart:
    """The cart as Billie's widget is given it, from the pay request's order."""
    order = found.data["order"]
    currency, total = found.cart.currency, found.cart.total
    customer = order.get("orderCustomer") or {}
    net = order.get("amountNet")
    tax = total - money(net, currency, "order.amountNet") if net is not None else 0
    person = {key: value for key, value in {
        "first_name": _text_of(customer.get("firstName"), 255),
        "last_name": _text_of(customer.get("lastName"), 255),
        "email": _text_of(customer.get("email"), 255)}.items() if value}
    delivery = None
    for entry in order.get("deliveries") or ():
        address = (entry or {}).get("shippingOrderAddress") or {}
        country = (address.get("country") or {}).get("iso")
        if all(isinstance(v, str) and v for v in (address.get("street"), country,
                                                    address.get("zipcode"), address.get("city"))):
            delivery = {"street": address["street"], "postcode": address["zipcode"],
                        "city": address["city"], "country": country.upper()}
            break
    lines = []
    for item in order.get("lineItems") or ():
        if not isinstance(item, Mapping) or item.get("type") != "product":
            continue
        amount = money(item.get("totalPrice"), currency, "order.lineItems.totalPrice")
        taxes = ((item.get("price") or {}).get("calculatedTaxes")) or ()
        line_tax = sum(money(t.get("tax"), currency, "order.lineItems.price")
                       for t in taxes if isinstance(t, Mapping))
        quantity = item.get("quantity")
        if amount < 0 or not isinstance(quantity, int) or quantity < 1:
            continue
        lines.append({"sku": _text_of((item.get("payload") or {}).get("productNumber"), 64),
                      "title": _text_of(item.get("label"), 255) or "Item",
                      "quantity": quantity, "amount": amount, "tax": min(line_tax, amount)})
    customer_id = customer.get("customerNumber") or customer.get("customerId") \
        or customer.get("email") or found.order_id
    return CheckoutCart(shop=found.connection.name, customer_id=str(customer_id)[:255],
                        currency=currency, amount=total, tax=max(tax, 0),
                        company=found.company, person=person, delivery=delivery,
                        lines=tuple(lines))


def _required(data: Mapping[str, Any], path: str, limit: int) -> str:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise PayloadError({path: ["is required"]})
    return value


def pay(body: bytes, headers: Mapping[str, str], ledger: Ledger, hooks: Hooks,
        settings: Mapping[str, Any], public_url: str) -> AppResponse:
    """Answer Shopware's async pay request: the kit's checkout page for Billie's widget, or
    ``fail`` with the buyer's message; signed with the shop's secret."""
    found = decided(body, headers, ledger, hooks, settings)
    language = headers.get("sw-user-language")
    if not found.eligibility.approved:
        return signed(found.secret, declined(found, headers))
    return_url = _required(found.data, "returnUrl", 2000)
    if not return_url.startswith(("https://", "http://")):
        raise PayloadError({"returnUrl": ["must be an http(s) URL"]})
    request = PageRequest(order_number=_required(found.data, "order.orderNumber", 64),
                          shop_reference=_required(found.data, "orderTransaction.id", 64),
                          return_url=return_url)
    shop = Shop.of(found.connection)
    try:
        token = open_page(ledger, hooks, shop, _cart(found), request, datetime.now(UTC))
    except _OURS:
        raise
    except InvoicekitError as exc:
        log.warning("Shopware pay of order %s: %s could not open a checkout session: %s",
                    found.order_id, shop.provider, exc)
        return signed(found.secret, {"status": "fail", "message": text("unavailable",
                                                                       language)})
    if token is not None:
        return signed(found.secret,
                      {"redirectUrl": f"{public_url.rstrip('/')}/checkout/{token}"})
    if _version(headers) >= (6, 6, 5):  # AppPaymentHandler: no redirect, no finalize
        return signed(found.secret, {"status": "authorize"})
    return signed(found.secret, {"status": "fail", "message": text("only_billie", language)})


def finalize(body: bytes, headers: Mapping[str, str], ledger: Ledger) -> AppResponse:
    """Answer Shopware's finalize request: ``authorize`` when the buyer confirmed and Billie
    accepted, else ``fail`` (declined) or ``cancel`` (not confirmed) with a sentence."""
    data, connection, secret = verified(body, headers, ledger)
    transaction_id = _required(data, "orderTransaction.id", 64)
    language = headers.get("sw-user-language")
    state = payment_state(ledger, connection.id, transaction_id)
    if state is None:
        answer = {"status": "fail", "message": text("unavailable", language)}
    elif state[0] == "approved":
        answer = {"status": "authorize"}
    elif state[0] == "declined":
        answer = {"status": "fail", "message": message((state[1] or "declined",), language)}
    else:
        answer = {"status": "cancel", "message": text("not_confirmed", language)}
    return signed(secret, answer)
