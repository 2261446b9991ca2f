"""The app's payment method "Purchase on account (B2B)" at Shopware's checkout, against the
stand-in playing Shopware's side (tests/shopware_standin/server.py ``checkout``): Shopware
creates the order, posts it signed to the pay URL, checks the answer's signature, and
authorizes or fails the payment; the order event follows. The kit decides once per order."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from test_shopware_admin_api import CHAIRS, PAPER, PUBLIC, SHOP, install, kit, manifest  # noqa: F401

from core import hookimpl
from core.context import CompanyCheck
from core.ledger.db import session_scope
from core.ledger.models import CheckoutDecision, Invoice, Order
from core.ledger.store import Ledger
from core.risk import kept
from core.state import Status
from plugins.shopware import payment
from plugins.shopware.signature import hex_hmac
from shopware_standin import StandIn, priced_order, running


class CountingRegister:
    """A company register that says yes and counts how often the buyer is checked."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def verify_company(self, company, settings):
        self.calls += 1
        return CompanyCheck("valid", source="counting")


@pytest.fixture
def shop(kit):  # noqa: F811
    the_kit, client = kit
    register = CountingRegister()
    the_kit.hooks.pm.register(register)
    with running(StandIn()) as standin:
        install(standin, client)
        yield the_kit, client, standin, register


def sender(client):
    def send(url, body, headers):
        response = client.post(url.removeprefix(PUBLIC), data=body, headers=headers)
        return response.status_code, response.get_data(), dict(response.headers)
    return send


def new_order(standin: StandIn, **changes) -> dict:
    order = standin.add_order(priced_order([CHAIRS, PAPER], **changes))
    standin.pay_with_app(order["id"])
    return order


def deliver(client, webhook) -> int:
    url, body, headers = webhook
    return client.post(url.removeprefix(PUBLIC), data=body, headers=headers).status_code


def kit_order(the_kit, order_id):
    with session_scope(the_kit.engine) as session:
        ledger = Ledger(session)
        row = ledger.find_order(SHOP, order_id)
        state = ledger.state_of(row)
        invoices = session.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.order_id == row.id))
        return state.status, state.open_amount, row.decision, invoices


def cents(order) -> int:
    return round(order["amountTotal"] * 100)


def kept_decisions(the_kit) -> list[tuple[str, bool]]:
    with session_scope(the_kit.engine) as session:
        return [(r.shop_order_id, r.approved) for r in session.scalars(select(CheckoutDecision))]


def test_the_manifest_offers_purchase_on_account_paid_through_the_kits_pay_url():
    root = ET.fromstring(manifest())
    method = next(m for m in root.iter("payment-method")
                  if m.findtext("identifier") == payment.IDENTIFIER)
    assert method.findtext("finalize-url") is None  # synchronous
    names = {n.get("lang", "en-GB"): n.text for n in method.iter("name")}
    assert names == {"en-GB": "Purchase on account (B2B)", "de-DE": "Kauf auf Rechnung (B2B)"}
    assert method.findtext("pay-url") == f"{PUBLIC}/apps/shopware/pay"


@pytest.mark.parametrize("version", ["6.5.8.14", "6.6.9.0"])  # SyncPayPayload, PaymentPayload
def test_an_approved_checkout_is_authorized_and_its_placement_reuses_the_decision(shop,
                                                                                  version):
    the_kit, client, standin, register = shop
    standin.version = version
    order = new_order(standin)
    result = standin.checkout(order["id"], sender(client))
    assert (result.status, result.state, result.message) == (200, "authorized", None)
    assert json.loads(result.answer) == {"status": "authorize"}
    assert register.calls == 1
    assert kept_decisions(the_kit) == [(order["id"], True)]

    assert deliver(client, result.webhook) == 202  # the order event, from Shopware's queue
    status, open_amount, decision, invoices = kit_order(the_kit, order["id"])
    assert (status, open_amount, invoices) == (Status.AUTHORISED, cents(order), 0)
    assert decision["decision"] == "approved"
    assert register.calls == 1  # the buyer was checked once, at checkout


def test_with_the_admin_worker_the_order_event_comes_first_and_the_pay_url_reuses_it(shop):
    the_kit, client, standin, register = shop
    order = new_order(standin)
    result = standin.checkout(order["id"], sender(client), admin_worker=True)
    assert (result.state, result.webhook) == ("authorized", None)
    assert kit_order(the_kit, order["id"])[0] is Status.AUTHORISED
    assert register.calls == 1
    assert kept_decisions(the_kit) == []  # the placement's own decision answered


def test_a_declined_checkout_fails_with_the_buyers_message_and_nothing_goes_on_invoice(shop):
    the_kit, client, standin, register = shop
    order = new_order(standin)
    order["orderCustomer"]["company"] = None  # a consumer
    order["addresses"][0]["company"] = None
    standin.language = "de-DE"
    result = standin.checkout(order["id"], sender(client))
    assert (result.status, result.state) == (200, "failed")
    assert result.message == (
        "Kauf auf Rechnung ist nur für Unternehmen möglich: Bitte geben Sie in der "
        "Rechnungsadresse Ihre Firma mit Rechtsform an (zum Beispiel GmbH). Bitte wählen Sie "
        "eine andere Zahlungsart.")
    assert kept_decisions(the_kit) == [(order["id"], False)]

    assert deliver(client, result.webhook) == 202
    status, open_amount, decision, invoices = kit_order(the_kit, order["id"])
    assert (status, open_amount, invoices) == (Status.DECLINED, 0, 0)
    assert decision["reasons"] == ["not_a_business"]

    # the buyer tries again from "Complete payment": the same answer, not a second check
    again = sender(client)(*standin.pay_request(order["id"]))
    assert json.loads(again[1])["status"] == "fail"
    assert register.calls == 0  # the rules declined before any register was asked


def test_a_decision_that_took_too_long_is_a_decline_so_the_order_is_not_put_on_invoice(
        shop, monkeypatch):
    the_kit, client, standin, _ = shop
    monkeypatch.setattr(payment, "ANSWER_WITHIN", -1.0)  # Shopware may have given up
    order = new_order(standin)
    result = standin.checkout(order["id"], sender(client))
    assert result.state == "failed"
    assert result.message.startswith("Purchase on account is not available for this order.")
    assert deliver(client, result.webhook) == 202
    assert kit_order(the_kit, order["id"])[0] is Status.DECLINED


def test_a_pay_request_with_a_bad_signature_is_refused_and_nothing_is_kept(shop):
    the_kit, client, standin, register = shop
    order = new_order(standin)
    url, body, headers = standin.pay_request(order["id"])
    headers["shopware-shop-signature"] = hex_hmac("not-the-shop-secret", body)
    status, raw, answer_headers = sender(client)(url, body, headers)
    assert status == 401
    assert json.loads(raw) == {"error": "shopware-shop-signature does not match"}
    assert standin.answered(order["id"], status, raw, answer_headers)[0] == "failed"
    assert kept_decisions(the_kit) == [] and register.calls == 0


@pytest.mark.parametrize(("change", "status", "field"), [
    (lambda p: p["order"].pop("billingAddress"), 422, "order.billingAddress"),
    (lambda p: p["order"]["billingAddress"].pop("country"), 422,
     "order.billingAddress.country.iso"),
    (lambda p: p["order"].update(amountTotal="482.80"), 422, "order.amountTotal"),
    (lambda p: p["order"]["currency"].update(isoCode="XXY"), 422, "order.currency.isoCode"),
    (lambda p: p["order"].pop("lineItems"), 422, "order.lineItems"),
])
def test_a_malformed_pay_request_is_answered_4xx_naming_the_field(shop, change, status, field):
    the_kit, client, standin, register = shop
    order = new_order(standin)
    url, body, headers = standin.pay_request(order["id"])
    data = json.loads(body)
    change(data)
    body = json.dumps(data).encode()
    headers["shopware-shop-signature"] = hex_hmac(standin.shop_secret, body)
    answer_status, raw, _ = sender(client)(url, body, headers)
    assert answer_status == status
    assert field in json.loads(raw)["fields"]
    assert kept_decisions(the_kit) == [] and register.calls == 0


def test_a_pay_request_that_is_not_json_is_answered_400(shop):
    _, client, standin, _ = shop
    body = b"order=1"
    status, raw, _ = sender(client)(f"{PUBLIC}/apps/shopware/pay", body, {
        "shopware-shop-signature": hex_hmac(standin.shop_secret, body)})
    assert (status, json.loads(raw)) == (400, {"error": "the body is not JSON"})


def test_a_kept_decision_serves_the_same_amount_and_an_approval_only_for_a_while(shop):
    the_kit, client, standin, _ = shop
    order = new_order(standin)
    standin.checkout(order["id"], sender(client))
    with session_scope(the_kit.engine) as session:
        ledger = Ledger(session)
        connection_id = ledger.connection(SHOP).id
        now = datetime.now(UTC)
        total = cents(order)
        assert kept.recall(ledger, connection_id, order["id"], "EUR", total).approved
        assert kept.recall(ledger, connection_id, order["id"], "EUR", total - 1) is None
        assert kept.recall(ledger, connection_id, order["id"], "CHF", total) is None
        later = now + kept.KEPT_FOR + timedelta(seconds=1)
        assert kept.recall(ledger, connection_id, order["id"], "EUR", total, later) is None
        declined = kept.from_record({**kept.to_record(kept.recall(
            ledger, connection_id, order["id"], "EUR", total)), "approved": False,
            "reasons": ["limit_exceeded"]})
        kept.remember(ledger, connection_id, order["id"], declined, now)
        assert kept.recall(ledger, connection_id, order["id"], "EUR", total,
                           later) == declined  # a decline stands


def test_an_approval_kept_from_checkout_still_respects_the_limit_at_placement(shop):
    the_kit, client, standin, register = shop
    first, second = new_order(standin, number="10001"), new_order(standin, number="10002")
    for order in (first, second):  # both approved at checkout, neither placed yet
        assert standin.checkout(order["id"], sender(client)).state == "authorized"
    with session_scope(the_kit.engine) as session:  # the limit leaves room for one order
        for row in session.scalars(select(CheckoutDecision)):
            row.eligibility = {**row.eligibility, "limit": 500_00}
    first_event = standin.webhook("checkout.order.placed", first["id"])
    second_event = standin.webhook("checkout.order.placed", second["id"])
    assert deliver(client, first_event) == deliver(client, second_event) == 202
    assert kit_order(the_kit, first["id"])[0] is Status.AUTHORISED
    status, _, decision, _ = kit_order(the_kit, second["id"])
    assert (status, decision["reasons"]) == (Status.DECLINED, ["limit_exceeded"])
    assert register.calls == 2  # once per order, at checkout


def test_the_apps_payment_method_counts_as_invoice_without_configuring_it(shop):
    the_kit, client, standin, _ = shop
    with session_scope(the_kit.engine) as session:
        settings = Ledger(session).connection(SHOP).platform_settings
    assert settings["payment_methods"] == ["payment_invoice"]
    assert settings["app_payment_methods"] == ["payment_InvoiceKit_purchase_on_account",
                                               "app\\InvoiceKit_purchase_on_account",
                                               "payment_InvoiceKit_invoicekit_widget",
                                               "app\\InvoiceKit_invoicekit_widget"]
    order = new_order(standin)
    assert deliver(client, standin.webhook("checkout.order.placed", order["id"])) == 202
    with session_scope(the_kit.engine) as session:
        assert session.scalar(select(Order.shop_order_id)) == order["id"]


def test_the_decline_message_names_what_the_buyer_can_change():
    assert payment.message(["amount_below_minimum"]) == (
        "Purchase on account is available for orders from 50.00 to 19,999.00 EUR. Please "
        "choose another payment method.")
    assert payment.message(["limit_exceeded"], "en-GB").startswith(
        "Purchase on account is not available for this order.")  # credit is not told
    assert "USt-IdNr." in payment.message(["vat_id_invalid"], "de-DE")


def test_the_docs_show_every_decline_message_the_buyer_can_get():
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "shopware.md").read_text(
        encoding="utf-8")
    for reasons in (["not_a_business"], ["country_not_supported"], ["amount_above_maximum"],
                    ["vat_id_invalid"], ["trial_product"], ["limit_exceeded"]):
        assert payment.message(reasons) in doc


def test_a_shop_registered_before_the_payment_method_existed_counts_it_from_its_first_pay(
        shop):
    the_kit, client, standin, _ = shop
    with session_scope(the_kit.engine) as session:
        connection = Ledger(session).connection(SHOP)
        connection.platform_settings = {k: v for k, v in connection.platform_settings.items()
                                        if k != "app_payment_methods"}
    order = new_order(standin)
    result = standin.checkout(order["id"], sender(client))
    assert result.state == "authorized"
    assert deliver(client, result.webhook) == 202
    assert kit_order(the_kit, order["id"])[0] is Status.AUTHORISED


def test_after_running_out_of_time_the_buyers_second_try_decides_afresh(shop, monkeypatch):
    the_kit, client, standin, register = shop
    order = new_order(standin)
    monkeypatch.setattr(payment, "ANSWER_WITHIN", -1.0)
    first = standin.checkout(order["id"], sender(client))
    assert first.state == "failed"
    monkeypatch.setattr(payment, "ANSWER_WITHIN", 15.0)
    standin._transition(order["id"], "reopen")  # "Complete payment" with the same method
    status, raw, headers = sender(client)(*standin.pay_request(order["id"]))
    assert standin.answered(order["id"], status, raw, headers) == ("authorized", None)
    assert deliver(client, first.webhook) == 202
    assert kit_order(the_kit, order["id"])[0] is Status.AUTHORISED
    assert register.calls == 2
