"""Billie's checkout widget: checkout sessions, their confirmation, and adopting the order.

Billie documents two ways to create an order (docs.billie.io): ``POST orders`` from the
merchant's backend, where the buyer gave consent through another channel, and, for online
checkouts, the widget: the backend opens a session (``POST checkout-sessions``
``{merchant_customer_id}`` → ``{id}``, valid 48 hours, create_checkout_session_v2), the
checkout page loads Billie's script and mounts the widget with that id and the order's data
("Checkout Client v1"), the buyer confirms, and the backend confirms the session with what
the widget answered (``PUT checkout-sessions/{id}/confirm`` with ``amount``, ``duration``,
``debtor {name, company_address}`` rebuilt from the widget's flat ``debtor_company``,
``delivery_address`` and ``external_code``; 202 with the order, state ``created``,
confirm_authorization_v2). The amount must be the one the widget was given.

The placement then adopts that order (:func:`adopt`): it reads it back and checks its state
and amount instead of creating another.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from core.context import CheckoutCart, CheckoutConfirmation, CheckoutSession, OrderContext
from core.errors import PayloadError, PermanentError
from core.money import Amount
from core.operations import Authorisation, Operation
from plugins.billie import client, payloads
from plugins.billie.client import NotFoundAtBillie
from plugins.billie.settings import PRODUCTION_URL, BillieSettings
from plugins.billie.views import OrderView, UnreadableAnswer, minor

__all__ = ["SESSION_LIFETIME", "adopt", "authorisation", "confirm", "open_session",
           "widget_url"]

SANDBOX_WIDGET = "https://static-paella-sandbox.billie.io/checkout/billie-checkout.js"
PRODUCTION_WIDGET = "https://static.billie.io/checkout/billie-checkout.js"
SESSION_LIFETIME = timedelta(hours=48)  # "The session has an expiry time of 48 hours."
_ADDRESS_PREFIX = "address_"


def widget_url(settings: BillieSettings) -> str:
    """The widget's script: the setting ``widget_url``, else production's for Billie's
    production API and the sandbox's for any other."""
    if settings.widget_url:
        return settings.widget_url
    return PRODUCTION_WIDGET if settings.base_url == PRODUCTION_URL else SANDBOX_WIDGET


def authorisation(view: OrderView) -> Authorisation:
    """An order's state as the core's authorisation (declined: Billie's reason)."""
    if view.declined:
        return Authorisation(provider_reference=view.uuid, approved=False,
                             decline_reason=view.decline_reason or "declined",
                             details={"state": view.state})
    return Authorisation(provider_reference=view.uuid, details={"state": view.state, **view.bank})


# -- opening: what the widget is given ------------------------------------------------------


def order_data(cart: CheckoutCart, duration_days: int) -> dict[str, Any]:
    """``billie_order_data`` for the widget (the fields Billie's own plugins give it)."""
    company = cart.company
    own = payloads.address(company.street, company.postcode, company.city, company.country)
    delivery = own if cart.delivery is None else payloads.address(
        cart.delivery["street"], cart.delivery["postcode"], cart.delivery["city"],
        cart.delivery["country"])
    person = {"first_name": cart.person.get("first_name"),
              "last_name": cart.person.get("last_name"),
              "email": cart.person.get("email"), "phone_number": cart.person.get("phone")}
    lines = [{"external_id": line.get("sku") or str(index), "title": line["title"],
              "quantity": line["quantity"],
              "amount": _amount(line["amount"], line["tax"], cart.currency)}
             for index, line in enumerate(cart.lines, start=1)]
    data: dict[str, Any] = {
        "amount": _amount(cart.amount, cart.tax, cart.currency),
        "duration": duration_days,
        "debtor_company": {"name": company.name, "established_customer": False,
                           **{_ADDRESS_PREFIX + k: v for k, v in own.items()}},
        "delivery_address": delivery,
        "debtor_person": {k: v for k, v in person.items() if v},
    }
    if lines:
        data["line_items"] = lines
    return data


def _amount(gross: int, tax: int, currency: str) -> dict[str, str]:
    """An amount as the widget is given it: decimal strings (JSON numbers would be floats
    in the browser)."""
    value = payloads.amount(Amount(gross, gross - tax, tax), currency)
    return {key: str(number) for key, number in value.items()}


def open_session(settings: BillieSettings, merchant_name: str,
                 cart: CheckoutCart) -> CheckoutSession:
    """``POST checkout-sessions`` for the buyer; the widget's script, config and data."""
    answer = client.post(settings, "checkout-sessions",
                         {"merchant_customer_id": cart.customer_id})
    session_id = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(session_id, str) or not session_id:
        raise PermanentError("Billie opened no checkout session: its answer has no id")
    return CheckoutSession(
        session_id=session_id,
        widget={"kind": "billie", "script_url": widget_url(settings),
                "config": {"session_id": session_id, "merchant_name": merchant_name},
                "order_data": order_data(cart, settings.duration_days)},
        expires_at=datetime.now(UTC) + SESSION_LIFETIME)


# -- confirming: the order is created ------------------------------------------------------


def _answered(answer: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = answer.get(key)
    if not isinstance(value, Mapping):
        raise PayloadError({f"answer.{key}": ["missing: send what Billie's widget answered"]})
    return value


def _confirmed_amount(answer: Mapping[str, Any], currency: str) -> Amount:
    value = _answered(answer, "amount")
    try:
        gross, net = minor(value.get("gross"), currency), minor(value.get("net"), currency)
    except UnreadableAnswer as exc:
        raise PayloadError({"answer.amount": [str(exc)]}) from None
    return Amount(gross, net, gross - net)


def confirm_body(confirmation: CheckoutConfirmation, duration_days: int) -> dict[str, Any]:
    """The body of ``PUT checkout-sessions/{id}/confirm`` from the widget's answer."""
    answer = confirmation.answer
    confirmed = _confirmed_amount(answer, confirmation.currency)
    if confirmed.gross != confirmation.amount:
        raise PayloadError({"amount": [
            f"differs from what the buyer confirmed in Billie's widget "
            f"({payloads.money(confirmed.gross, confirmation.currency)})"]})
    company = _answered(answer, "debtor_company")
    if not isinstance(company.get("name"), str) or not company["name"].strip():
        raise PayloadError({"answer.debtor_company.name": ["missing"]})
    address = {key.removeprefix(_ADDRESS_PREFIX): value for key, value in company.items()
               if key.startswith(_ADDRESS_PREFIX) and value not in (None, "")}
    duration = answer.get("duration")
    body: dict[str, Any] = {
        "amount": payloads.amount(confirmed, confirmation.currency),
        "duration": duration if isinstance(duration, int) and not isinstance(duration, bool)
        else duration_days,
        "debtor": {"name": company["name"], "company_address": address},
        "external_code": payloads.external_code(confirmation.shop,
                                                 confirmation.order_number),
    }
    delivery = answer.get("delivery_address")
    if isinstance(delivery, Mapping) and delivery:
        body["delivery_address"] = dict(delivery)
    return body


def confirm(settings: BillieSettings, confirmation: CheckoutConfirmation) -> Authorisation:
    """Confirm the session: Billie creates the order the buyer confirmed."""
    body = confirm_body(confirmation, settings.duration_days)
    data = client.put(settings, client.path("checkout-sessions", confirmation.session_id,
                                            "confirm"), body)
    try:
        return authorisation(OrderView.read(data, confirmation.currency))
    except UnreadableAnswer as exc:
        raise PermanentError(f"Billie's confirmation could not be read ({exc})") from None


# -- placement: the confirmed order is adopted ------------------------------------------------


def adopt(settings: BillieSettings, order: OrderContext, operation: Operation) -> Authorisation:
    """The placement of an order confirmed at the checkout: Billie's order, read back. Its
    amount must be the placement's; otherwise (the shop changed the order after the buyer
    confirmed it) the placement is declined, saying so."""
    checkout = order.checkout
    assert checkout is not None
    try:
        data = client.get(settings, client.path("orders", checkout.provider_reference))
    except NotFoundAtBillie:
        raise PermanentError(f"Billie has no order {checkout.provider_reference}, which "
                             f"checkout session {checkout.session_id} confirmed") from None
    try:
        view = OrderView.read(data, order.snapshot.currency)
    except UnreadableAnswer as exc:
        raise PermanentError(f"Billie's order could not be read ({exc})") from None
    if view.declined or view.cancelled:
        return Authorisation(provider_reference=view.uuid, approved=False,
                             decline_reason=view.decline_reason or view.state,
                             details={"state": view.state})
    gross = view.amount.gross if view.amount is not None else checkout.amount
    if gross != operation.amount.gross or checkout.currency != order.snapshot.currency:
        return Authorisation(
            provider_reference=view.uuid, approved=False,
            decline_reason="checkout_amount_differs",
            details={"state": view.state,
                     "confirmed": str(payloads.money(gross, order.snapshot.currency)),
                     "checkout_session": checkout.session_id})
    adopted = authorisation(view)
    return Authorisation(provider_reference=adopted.provider_reference,
                         details={**adopted.details, "checkout_session": checkout.session_id})
