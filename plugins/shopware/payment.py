"""The app's payment method "Purchase on account (B2B)": Shopware's synchronous pay URL.

What Shopware does, from its source (shopware/shopware at v6.5.8.14 and v6.6.7.1):

* The manifest's ``<payments><payment-method>`` (``identifier``, ``name`` per language,
  ``description``, ``pay-url``: App/Manifest/Schema/manifest-2.0.xsd, App/Manifest/Xml/
  PaymentMethod/PaymentMethod.php) becomes a payment method with the technical name
  ``payment_<app>_<identifier>`` and the handler ``app\\<app>_<identifier>`` (App/Lifecycle/
  Persister/PaymentMethodPersister.php).
* At checkout Shopware creates the order first (``checkout.order.placed``), then posts to
  the pay URL: up to 6.6.4 from App/Payment/Handler/AppSyncPaymentHandler.php with
  Payload/Struct/SyncPayPayload.php (``source``, ``orderTransaction``, ``order``,
  ``requestData``, ``recurring``), from 6.6.5 from App/Payment/Handler/AppPaymentHandler.php
  ``pay`` with Payload/Struct/PaymentPayload.php (also ``queryParameters``, ``returnUrl``,
  ``validateStruct``). ``source`` is ``{url, shopId, appVersion}``; the order carries its
  ``billingAddress`` with its country, ``orderCustomer``, ``currency``, ``lineItems`` and
  ``transactions`` (the criteria of AppPaymentHandler ``getOrderTransaction``, 6.5:
  Checkout/Payment/Cart/PaymentTransactionChainProcessor.php).
* The body is signed like a webhook, ``shopware-shop-signature`` = hex HMAC-SHA256 with the
  secret the app handed out at registration (App/Hmac/RequestSigner.php ``signRequest``),
  and Shopware waits 20 seconds (App/Payment/Payload/PaymentPayloadService.php
  ``PAYMENT_REQUEST_TIMEOUT``).
* It accepts only an answer signed the same way: ``shopware-app-signature`` = hex
  HMAC-SHA256 of the response body with that secret (App/Hmac/Guzzle/AuthMiddleware.php,
  ``VALIDATED_RESPONSE``; RequestSigner ``isResponseAuthentic``); a 401 is not checked but
  fails the payment like every error.
* The answer is ``{"status": <transition>}``, a transition of the ``order_transaction``
  state machine (``authorize``: open to authorized), or ``{"status": "fail", "message": …}``;
  a ``message`` alone fails the payment too (6.5: App/Payment/Response/SyncPayResponse.php
  and AppSyncPaymentHandler; 6.6.5: Response/PaymentResponse.php ``getErrorMessage``).
* A failed payment sets the transaction ``failed`` and sends the buyer to the order's
  "Complete payment" page in their account to choose another method (Checkout/Payment/
  PaymentService.php ``handlePaymentByOrder``, 6.6.5: Checkout/Payment/PaymentProcessor.php
  ``pay``; Storefront/Controller/CheckoutController.php ``order``); the storefront shows
  its snippet ``account.externalPaymentFailure`` and Shopware logs the app's message.

The kit answers with its eligibility decision (:func:`core.risk.decide.decide`, the one
of ``POST /api/v1/eligibility``) and keeps it for the order's placement
(:mod:`core.risk.kept`), so the buyer is checked once.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.context import AppResponse, Company, Eligibility
from core.errors import NotFound, PayloadError, SignatureError
from core.hooks import Hooks
from core.ledger.models import Merchant, ShopConnection
from core.ledger.store import Ledger
from core.money import exponent, is_known_currency, to_decimal
from core.risk.decide import decide
from core.risk.kept import recall, remember
from core.risk.policy import terms_of
from core.risk.rules import Cart, CartLine
from core.schemas import read_json_object
from core.state import Status
from plugins.shopware.order import buyer_of
from plugins.shopware.signature import hex_hmac

__all__ = ["ANSWER_WITHIN", "IDENTIFIER", "SHOPWARE_TIMEOUT", "TIMED_OUT", "WIDGET",
           "Decided", "decided", "declined", "message", "method_names", "money", "pay", "signed",
           "verified"]

IDENTIFIER = "purchase_on_account"
WIDGET = "invoicekit_widget"  # the async method of plugins/shopware/widget.py
SHOPWARE_TIMEOUT = 20.0  # PaymentPayloadService::PAYMENT_REQUEST_TIMEOUT
# A decision that took longer is answered (and kept) as a decline: Shopware may have given
# up on the answer and failed the payment, so the order must not go on invoice.
ANSWER_WITHIN = 15.0
TIMED_OUT = "checkout_timeout"

MESSAGES = {
    "en": {
        "not_a_business": "Purchase on account is available to businesses only: please "
                          "enter your company name with its legal form (for example GmbH) "
                          "in the billing address.",
        "country_not_supported": "Purchase on account is not available for billing "
                                 "addresses in this country.",
        "amount": "Purchase on account is available for orders from {minimum} to {maximum} "
                  "EUR.",
        "company": "We could not confirm your company's details (name, VAT ID or address). "
                   "Please check the billing address and VAT ID.",
        "product": "Purchase on account is not available for some items in your cart.",
        "other": "Purchase on account is not available for this order.",
        "choose": "Please choose another payment method.",
    },
    "de": {
        "not_a_business": "Kauf auf Rechnung ist nur für Unternehmen möglich: Bitte geben Sie "
                          "in der Rechnungsadresse Ihre Firma mit Rechtsform an (zum Beispiel "
                          "GmbH).",
        "country_not_supported": "Kauf auf Rechnung ist für Rechnungsadressen in diesem Land "
                                 "nicht möglich.",
        "amount": "Kauf auf Rechnung ist für Bestellungen von {minimum} bis {maximum} EUR "
                  "möglich.",
        "company": "Wir konnten die Angaben zu Ihrem Unternehmen (Firma, USt-IdNr. oder "
                   "Adresse) nicht bestätigen. Bitte prüfen Sie Rechnungsadresse und "
                   "USt-IdNr.",
        "product": "Für einige Artikel im Warenkorb ist Kauf auf Rechnung nicht möglich.",
        "other": "Kauf auf Rechnung ist für diese Bestellung nicht möglich.",
        "choose": "Bitte wählen Sie eine andere Zahlungsart.",
    },
}
_KIND = {
    "not_a_business": "not_a_business", "country_not_supported": "country_not_supported",
    "amount_below_minimum": "amount", "amount_above_maximum": "amount",
    "product_not_approved": "product", "trial_product": "product",
    "vat_id_invalid": "company", "vat_id_country_mismatch": "company",
    "vat_id_not_registered": "company", "legal_form_invalid": "company",
    "address_implausible": "company", "company_invalid": "company",
    "company_unverified": "company",
}


def method_names(app_name: str) -> list[str]:
    """The names Shopware gives the app's payment methods: technical name and handler of
    the synchronous one, then of the widget's (:mod:`plugins.shopware.widget`)."""
    return [name for identifier in (IDENTIFIER, WIDGET)
            for name in (f"payment_{app_name}_{identifier}", f"app\\{app_name}_{identifier}")]


def message(reasons: Sequence[str], language: str | None = None, *,
            minimum: str = "50.00", maximum: str = "19,999.00") -> str:
    """What the buyer is told of a decline: the first reason the buyer can act on (credit
    reasons are not told), and to choose another payment method."""
    texts = MESSAGES["de" if (language or "").lower().startswith("de") else "en"]
    kind = next((_KIND[r] for r in reasons if r in _KIND), "other")
    return f"{texts[kind].format(minimum=minimum, maximum=maximum)} {texts['choose']}"


def money(value: Any, currency: str, path: str) -> int:
    """A Shopware float as minor units, read through its string form and rounded once."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError({path: ["must be a number"]})
    try:
        amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-exponent(currency)),
                                              rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise PayloadError({path: ["must be a number"]}) from None
    return int(amount.scaleb(exponent(currency)))


def _checkout(order: Any) -> tuple[str, Company, Cart]:
    """The shop's order id, the buyer and the cart of the pay request's ``order``."""
    if not isinstance(order, Mapping):
        raise PayloadError({"order": ["is required"]})
    errors: dict[str, list[str]] = {}
    order_id = order.get("id")
    if not isinstance(order_id, str) or not 0 < len(order_id) <= 64:
        errors["order.id"] = ["is required"]
    currency = (order.get("currency") or {}).get("isoCode")
    if not isinstance(currency, str) or not is_known_currency(currency):
        errors["order.currency.isoCode"] = ["must be a known ISO 4217 code"]
    billing = order.get("billingAddress")
    if not isinstance(billing, Mapping):
        errors["order.billingAddress"] = ["is required"]
    elif not isinstance((billing.get("country") or {}).get("iso"), str):
        errors["order.billingAddress.country.iso"] = ["is required"]
    items = order.get("lineItems")
    if not isinstance(items, list):
        errors["order.lineItems"] = ["is required"]
    if errors:
        raise PayloadError(errors)
    total = money(order.get("amountTotal"), currency, "order.amountTotal")
    if total <= 0:
        raise PayloadError({"order.amountTotal": ["must be positive"]})
    buyer = buyer_of(order)
    company = Company(name=buyer["company"] or "", legal_form=buyer["legal_form"],
                      vat_id=buyer["vat_id"], street=buyer["street"],
                      postcode=buyer["postcode"], city=buyer["city"],
                      country=buyer["country"].upper())
    lines = tuple(CartLine((item.get("payload") or {}).get("productNumber"))
                  for item in items if isinstance(item, Mapping)
                  and item.get("type") == "product")
    return order_id, company, Cart(currency, total, lines)


def _secret(connection: ShopConnection, body: bytes, given: str | None) -> str:
    """The shop secret that signed ``body`` (the answer is signed with it), or 401."""
    keys = connection.valid_secrets()
    if not keys:
        raise SignatureError("the shop has no secret yet: finish the app registration")
    if not given:
        raise SignatureError("missing shopware-shop-signature header")
    candidate = given.strip().lower().encode()
    for key in keys:
        if hmac.compare_digest(hex_hmac(key, body).encode(), candidate):
            return key
    raise SignatureError("shopware-shop-signature does not match")


def _placed(ledger: Ledger, connection: ShopConnection, order_id: str) -> Eligibility | None:
    """The decision the kit's placement made, when the order event came first (Shopware
    sends it synchronously with the admin worker on): approved unless declined."""
    try:
        order = ledger.find_order(connection.name, order_id)
    except NotFound:
        return None
    if order.status == Status.DECLINED.value or (order.decision or {}).get(
            "decision") == "declined":
        reasons = tuple((order.decision or {}).get("reasons") or (order.decline_reason or
                                                                   "declined",))
        return Eligibility(False, reasons, order.currency, 0, 0, 0, Decimal(0), "")
    if order.decision is not None or order.status != Status.NEW.value:
        return Eligibility(True, (), order.currency, 0, 0, 0, Decimal(0), "")
    return None


@dataclass(frozen=True, slots=True)
class Decided:
    """A pay request, verified, and the kit's eligibility decision for its order."""

    data: Mapping[str, Any]
    connection: ShopConnection
    secret: str
    order_id: str
    company: Company
    cart: Cart
    eligibility: Eligibility
    merchant: Merchant


def verified(body: bytes, headers: Mapping[str, str],
             ledger: Ledger) -> tuple[dict[str, Any], ShopConnection, str]:
    """A payment request of the app's shop (pay or finalize): its JSON, the shop's
    connection (``source.shopId``) and the secret that signed it (401 for a bad signature,
    which the answer is signed with)."""
    data = read_json_object(body)
    shop_id = (data.get("source") or {}).get("shopId")
    if not isinstance(shop_id, str) or not 0 < len(shop_id) <= 64:
        raise PayloadError({"source.shopId": ["is required"]})
    connection = ledger.connection_by_external_id("shopware", shop_id)
    return data, connection, _secret(connection, body, headers.get("shopware-shop-signature"))


def decided(body: bytes, headers: Mapping[str, str], ledger: Ledger, hooks: Hooks,
            settings: Mapping[str, Any]) -> Decided:
    """Verify the pay request (401 for a bad signature) and decide whether the buyer may
    pay its order on account, once per order (see :func:`pay`)."""
    data, connection, secret = verified(body, headers, ledger)
    order_id, company, cart = _checkout(data.get("order"))
    names = method_names(str(settings["app_name"])) if settings.get("app_name") else None
    if names and connection.platform_settings.get("app_payment_methods") != names:
        # a shop registered before the app had its payment method: its orders count now
        connection.platform_settings = {**connection.platform_settings,
                                        "app_payment_methods": names}
    started = time.monotonic()
    # decided once per order: by the placement when the order event came first, else by a
    # pay request before (the buyer trying again), except one that ran out of time
    eligibility = _placed(ledger, connection, order_id)
    if eligibility is None:
        eligibility = recall(ledger, connection.id, order_id, cart.currency, cart.total)
        if eligibility is not None and eligibility.reasons == (TIMED_OUT,):
            eligibility = None
    merchant = ledger.merchant(connection.merchant_id)
    if eligibility is None:
        eligibility = decide(ledger, hooks, merchant, company, cart)
        if time.monotonic() - started > ANSWER_WITHIN:
            eligibility = replace(eligibility, approved=False, reasons=(TIMED_OUT,))
        remember(ledger, connection.id, order_id, eligibility)
    return Decided(data, connection, secret, order_id, company, cart, eligibility, merchant)


def declined(found: Decided, headers: Mapping[str, str]) -> dict[str, str]:
    """Shopware's ``fail`` with the buyer's message for a declined decision."""
    terms = terms_of(found.merchant)
    return {"status": "fail", "message": message(
        found.eligibility.reasons, headers.get("sw-user-language"),
        minimum=f"{to_decimal(terms.minimum, 'EUR'):,.2f}",
        maximum=f"{to_decimal(terms.maximum, 'EUR'):,.2f}")}


def signed(secret: str, answer: Mapping[str, str]) -> AppResponse:
    """The answer, signed with the shop's secret (``shopware-app-signature``)."""
    raw = json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode()
    return AppResponse(200, answer, {"shopware-app-signature": hex_hmac(secret, raw)}, raw)


def pay(body: bytes, headers: Mapping[str, str], ledger: Ledger, hooks: Hooks,
        settings: Mapping[str, Any]) -> AppResponse:
    """Answer Shopware's pay request: ``authorize`` when the buyer may pay the order on
    account, else ``fail`` with the buyer's message; signed with the shop's secret.
    ``settings`` are the instance's Shopware settings (the app's name)."""
    found = decided(body, headers, ledger, hooks, settings)
    return signed(found.secret, {"status": "authorize"} if found.eligibility.approved
                  else declined(found, headers))
