"""The WooCommerce plugin: signature, ping, and the order JSON mapped to snapshots."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import responses

from core.errors import (
    MalformedPayload,
    PayloadError,
    PermanentError,
    RetryableError,
    SignatureError,
)
from core.hooks import Hooks
from core.plugins import get_plugin_manager
from core.snapshot import LineKind
from plugins.woocommerce import signature
from woo import body, headers, order, with_refund

SECRET = "q7N#v2Lk!9Xe$Rb4@Tz8^Mw1*Hc6(Jp3)Fs5_Gd0-Ya2[Ue7]I"
REST = {"rest_url": "https://shop.example-b2b.de", "consumer_key": "ck_1",
        "consumer_secret": "cs_1", "payment_methods": ["invoice"]}


@pytest.fixture(scope="module")
def hooks():
    return Hooks(get_plugin_manager())


def parse(hooks, data, settings=None, topic="order.updated"):
    raw = body(data)
    return hooks.parse_delivery("woocommerce", "acme", raw, headers(raw, SECRET, topic),
                                settings or {"payment_methods": ["invoice"]})


# -- signature ---------------------------------------------------------------------------

def test_documented_example_signature():
    raw = (b'{"id":4711,"status":"completed","total":"606.90","_links":{"self":[{"href":'
           b'"https:\\/\\/shop.example-b2b.de\\/wp-json\\/wc\\/v3\\/orders\\/4711"}]}}')
    assert signature.sign(raw, SECRET) == "miGF9fS2RE/mxva6EYRBnC2ceUNmBbyYBgSJNumOhtA="


def test_secret_with_html_entities_signs_decoded():
    assert signature.sign(b"x", "Ab&amp;Cd") == signature.sign(b"x", "Ab&Cd")


def test_valid_signature_passes_and_rotation_accepts_the_old_secret(hooks):
    raw = body(order())
    given = headers(raw, "old-secret")
    assert hooks.verify_delivery("woocommerce", raw, given, ["new-secret", "old-secret"])


@pytest.mark.parametrize("header", [None, "", "not base64!", "c2hvcnQ=",
                                    signature.sign(b"other", SECRET)])
def test_bad_signatures_fail(hooks, header):
    raw = body(order())
    given = headers(raw, SECRET)
    if header is None:
        del given["X-WC-Webhook-Signature"]
    else:
        given["X-WC-Webhook-Signature"] = header
    with pytest.raises(SignatureError) as info:
        hooks.verify_delivery("woocommerce", raw, given, [SECRET])
    assert SECRET not in str(info.value)


def test_altered_body_fails(hooks):
    raw = body(order())
    given = headers(raw, SECRET)
    with pytest.raises(SignatureError):
        hooks.verify_delivery("woocommerce", raw.replace(b"549.73", b"449.73"), given, [SECRET])


def test_no_secret_configured_fails(hooks):
    raw = body(order())
    with pytest.raises(SignatureError, match="no webhook secret"):
        hooks.verify_delivery("woocommerce", raw, headers(raw, SECRET), [])


# -- ping --------------------------------------------------------------------------------

def test_ping_is_recognised_only_in_its_exact_form(hooks):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert hooks.is_ping("woocommerce", b"webhook_id=12", form)
    assert not hooks.is_ping("woocommerce", b"webhook_id=12&x=1", form)
    assert not hooks.is_ping("woocommerce", body(order()), form)
    signed = {**form, "X-WC-Webhook-Signature": "x"}
    assert not hooks.is_ping("woocommerce", b"webhook_id=12", signed)


# -- mapping ------------------------------------------------------------------------------

def test_order_maps_to_a_snapshot(hooks):
    parsed = parse(hooks, order())
    assert parsed.topic == "order.updated" and parsed.order_id == "4711"
    (s,) = parsed.snapshots
    assert (s.order_id, s.order_number, s.currency, s.status) == ("4711", "4711", "EUR",
                                                                  "processing")
    assert (s.total, s.total_tax) == (549_73, 82_73)
    assert s.buyer.company == "Muster Bürobedarf GmbH" and s.buyer.legal_form == "GmbH"
    assert s.buyer.vat_id == "DE136695976" and s.buyer.street == "Hauptstraße 5"
    kinds = [(li.line_id, li.kind, li.quantity, li.gross, li.tax_rate) for li in s.lines]
    assert kinds == [
        ("101", LineKind.PRODUCT, 2, 357_00, Decimal("19")),
        ("102", LineKind.PRODUCT, 10, 53_50, Decimal("7")),
        ("103", LineKind.PRODUCT, 3, 124_95, Decimal("19")),
        ("shipping-201", LineKind.SHIPPING, 1, 11_90, Decimal("19")),
        ("fee-301", LineKind.FEE, 1, 2_38, Decimal("19")),
    ]
    assert [(d.code, d.amount) for d in s.discounts] == [("welcome10", 11_90)]
    assert s.ordering_key.isoformat() == "2026-11-02T09:15:00+00:00"


def test_refunds_come_oldest_first_as_positive_amounts(hooks):
    data = with_refund(order(status="completed"), 5001, "29.75", "2026-11-04T08:00:00")
    data = with_refund(data, 5002, "100.00", "2026-11-05T08:00:00", reason="goodwill")
    (s,) = parse(hooks, data).snapshots
    assert [(r.refund_id, r.amount, r.lines) for r in s.refunds] == [
        ("5001", 29_75, None), ("5002", 100_00, None)]


def test_full_refund_sets_refunded(hooks):
    data = with_refund(order(status="completed"), 5001, "549.73", "2026-11-04T08:00:00")
    (s,) = parse(hooks, data).snapshots
    assert s.status == "refunded" and s.refund_total == s.total


def test_other_payment_methods_are_ignored_with_the_snapshot_for_orders_the_kit_holds(hooks):
    parsed = parse(hooks, order(payment_method="paypal"))
    assert "paypal" in parsed.ignored
    (snapshot,) = parsed.snapshots  # the core follows the order if it placed it by invoice
    assert (snapshot.order_id, snapshot.total, snapshot.cancelled) == ("4711", 549_73, False)


def test_an_order_paid_otherwise_that_is_no_invoice_order_is_ignored_without_snapshot(hooks):
    data = order(payment_method="paypal")
    data["currency"] = "XXY"  # a consumer's order in any shape: not read as an invoice order
    parsed = parse(hooks, data)
    assert parsed.snapshots == () and "paypal" in parsed.ignored


@pytest.mark.parametrize("status", ["checkout-draft", "pending", "failed"])
def test_unplaced_statuses_are_ignored(hooks, status):
    parsed = parse(hooks, order(status=status))
    assert parsed.ignored
    (snapshot,) = parsed.snapshots
    assert snapshot.cancelled == (status == "failed")  # a placed order that fails is cancelled


def test_deleted_order_is_ignored_with_a_reason(hooks):
    parsed = parse(hooks, {"id": 4711}, topic="order.deleted")
    assert parsed.order_id == "4711" and "trash" in parsed.ignored


def test_identical_bodies_share_a_dedupe_key(hooks):
    assert parse(hooks, order()).dedupe_key == parse(hooks, order(),
                                                     topic="order.created").dedupe_key
    assert parse(hooks, order()).dedupe_key != parse(
        hooks, order(modified="2026-11-02T09:16:00")).dedupe_key


@pytest.mark.parametrize("raw", [b"", b"{", b"[1,2]", b"\xff\xfe", b"null"])
def test_unreadable_bodies_are_malformed(hooks, raw):
    with pytest.raises(MalformedPayload):
        hooks.parse_delivery("woocommerce", "acme", raw, headers(raw, SECRET), {})


def test_missing_and_mistyped_fields_are_named(hooks):
    data = order()
    del data["currency"]
    data["line_items"][0]["quantity"] = "2"
    with pytest.raises(PayloadError) as info:
        parse(hooks, data)
    assert {"currency", "line_items.0.quantity"} <= set(info.value.field_errors)


def test_totals_that_do_not_add_up_are_refused(hooks):
    data = order()
    data["total"] = "600.00"
    with pytest.raises(PayloadError) as info:
        parse(hooks, data)
    assert "total" in info.value.field_errors


def test_legal_form_from_meta_wins_and_consumers_have_none(hooks):
    data = order()
    data["meta_data"].append({"id": 903, "key": "_billing_legal_form", "value": "AG"})
    assert parse(hooks, data).snapshots[0].buyer.legal_form == "AG"
    consumer = order()
    consumer["billing"]["company"] = ""
    buyer = parse(hooks, consumer).snapshots[0].buyer
    assert buyer.company is None and buyer.legal_form is None


# -- refund lines over the REST API ------------------------------------------------------

def refund_json(refund_id, line_id, quantity, total, tax):
    return {"id": refund_id, "amount": str(Decimal(total) + Decimal(tax)), "reason": "",
            "line_items": [{"id": 9000 + refund_id, "name": "Office chair",
                            "quantity": -quantity, "total": f"-{total}",
                            "total_tax": f"-{tax}", "meta_data": [
                                {"id": 1, "key": "_refunded_item_id", "value": str(line_id)}]}],
            "shipping_lines": [], "fee_lines": []}


@responses.activate
def test_refund_lines_are_read_from_the_rest_api(hooks):
    responses.get("https://shop.example-b2b.de/wp-json/wc/v3/orders/4711/refunds",
                  json=[refund_json(5001, 101, 1, "150.00", "28.50")])
    data = with_refund(order(status="completed"), 5001, "178.50", "2026-11-04T08:00:00")
    (s,) = parse(hooks, data, REST).snapshots
    enriched = hooks.enrich_snapshot("woocommerce", s, REST)
    (refund,) = enriched.refunds
    assert [(rl.line_id, rl.quantity, rl.amount) for rl in refund.lines] == [("101", 1, 178_50)]
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")


@responses.activate
@pytest.mark.parametrize(("status", "error"), [(500, RetryableError), (429, RetryableError),
                                               (401, PermanentError)])
def test_rest_failures_are_transient_or_permanent(hooks, status, error):
    responses.get("https://shop.example-b2b.de/wp-json/wc/v3/orders/4711/refunds",
                  status=status, json={"code": "x"})
    data = with_refund(order(status="completed"), 5001, "178.50", "2026-11-04T08:00:00")
    (s,) = parse(hooks, data, REST).snapshots
    with pytest.raises(error) as info:
        hooks.enrich_snapshot("woocommerce", s, REST)
    assert "cs_1" not in str(info.value)


def test_without_credentials_refunds_stay_amounts(hooks):
    data = with_refund(order(status="completed"), 5001, "178.50", "2026-11-04T08:00:00")
    (s,) = parse(hooks, data).snapshots
    assert hooks.enrich_snapshot("woocommerce", s, {}) is s


def test_php_escaped_body_reads_the_same():
    raw = body(order())
    assert b"\\/" in raw and b"\\u00fc" in raw
    assert json.loads(raw)["billing"]["company"] == "Muster Bürobedarf GmbH"
