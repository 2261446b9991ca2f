"""The recordings of a real WooCommerce (tests/fixtures/woocommerce/recordings, made by
bench/woocommerce_record): every delivery WooCommerce signed verifies with the plugin and
parses, a changed byte does not verify, and the pings are recognised."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
import responses
from sqlalchemy import select

from core.errors import InvoicekitError
from core.ledger.db import session_scope
from core.ledger.models import OperationRecord, RefusalRecord
from core.ledger.store import Ledger
from core.money import to_minor
from core.operations import rates_from_json
from plugins.woocommerce import plugin
from recordings import (
    RECORDINGS_DIR,
    REST,
    connect,
    deliveries,
    post,
    recording,
    replay,
    serve_rest,
)

RECORDINGS = sorted(RECORDINGS_DIR.glob("*.json"))


def test_there_are_recordings_of_the_cases_issue_22_names():
    names = {path.stem for path in RECORDINGS}
    assert {"coupon-added-to-processing-order", "line-qty-lowered-after-completion",
            "shipping-refunded-alone", "line-amount-refunded-qty-0", "negative-fee-mixed-rates",
            "payment-method-changed-then-cancelled", "refund-deleted", "placed-order-failed",
            "on-hold-then-completed", "one-of-two-coupons-removed",
            "webhook-disabled-after-failures", "rest-basic-auth-over-http"} <= names
    assert len(names) >= 24


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_every_recorded_delivery_verifies_and_parses(path):
    recording = json.loads(path.read_text(encoding="utf-8"))
    secret = recording["secret"]
    for headers, body in deliveries(recording["steps"]):
        if plugin.is_ping(platform="woocommerce", body=body, headers=headers):
            assert "X-WC-Webhook-Signature" not in headers
            continue
        assert plugin.verify_delivery(platform="woocommerce", body=body, headers=headers,
                                      secrets=[secret])
        with pytest.raises(InvoicekitError):
            plugin.verify_delivery(platform="woocommerce", body=body + b" ", headers=headers,
                                   secrets=[secret])
        parsed = plugin.parse_delivery(platform="woocommerce", shop="acme", body=body,
                                       headers=headers,
                                       settings={"payment_methods": ["invoice"]})
        assert parsed.ignored or parsed.snapshots, headers["X-WC-Webhook-Topic"]
        for snapshot in parsed.snapshots:
            order = json.loads(body)
            assert snapshot.order_id == str(order["id"])
            # the snapshot's tax per rate is WooCommerce's own, as its tax lines sum it
            tax: dict[Decimal, int] = {}
            for line in snapshot.lines:
                tax[line.tax_rate] = tax.get(line.tax_rate, 0) + line.tax
            assert {r: t for r, t in tax.items() if t} == {
                r: t for r, t in _woo_tax_by_rate(order).items() if t}


def _woo_tax_by_rate(order: dict) -> dict[Decimal, int]:
    """WooCommerce's own tax per rate of an order: its tax lines, in cents."""
    return {Decimal(str(t["rate_percent"])): to_minor(
        Decimal(t["tax_total"]) + Decimal(t["shipping_tax_total"]), "EUR")
        for t in order["tax_lines"]}


def test_a_negative_fee_taxed_at_19_and_7_invoices_each_rate_as_woocommerce_does(kit):
    order = replay(kit, "negative-fee-mixed-rates")
    with session_scope(kit.engine) as session:
        [activation] = session.scalars(select(OperationRecord).where(
            OperationRecord.kind == "activation")).all()
        invoiced = dict(rates_from_json(activation.by_rate))
    assert set(invoiced) == {Decimal(19), Decimal(7)}  # no made-up 26 % rate
    tax = {rate: amount.tax for rate, amount in invoiced.items()}
    assert tax == _woo_tax_by_rate(order) == {Decimal(19): 52_09, Decimal(7): 5_56}
    assert sum(a.gross for a in invoiced.values()) == to_minor(order["total"], "EUR")
    # the fee is a line per rate: WooCommerce's tax, the net in proportion to the others
    snapshot = plugin.to_snapshot(plugin.read_order(order), "rec", {})
    assert [(line.line_id, line.tax_rate, line.net, line.tax) for line in snapshot.lines
            if line.kind == "fee"] == [("fee-59@7", Decimal(7), -449, -31),
                                       ("fee-59@19", Decimal(19), -1551, -295)]


def _woo_lines_by_rate(order: dict) -> dict[Decimal, tuple[int, int]]:
    """WooCommerce's order per rate as its own lines and tax lines give it: (net, tax)."""
    tax = _woo_tax_by_rate(order)
    snapshot = plugin.to_snapshot(plugin.read_order(order), "rec", {})
    net: dict[Decimal, int] = {}
    for line in snapshot.lines:
        net[line.tax_rate] = net.get(line.tax_rate, 0) + line.net
    return {rate: (net.get(rate, 0), tax.get(rate, 0)) for rate in set(net) | set(tax)
            if net.get(rate) or tax.get(rate)}


EDITS = ["negative-fee-mixed-rates", "percent-and-fixed-cart-coupons", "fixed-product-coupon",
         "coupon-added-to-processing-order", "line-qty-lowered-after-completion"]


@pytest.mark.parametrize("name", EDITS)
def test_after_the_edits_the_ledger_per_rate_is_woocommerces_order(kit, name):
    order = replay(kit, name)
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        state = ledger.state_of(ledger.find_order("rec", str(order["id"])))
    ledger_by_rate: dict[Decimal, tuple[int, int]] = {}
    for rate, amount in state.open_by_rate:  # invoiced less credited, and not yet invoiced
        net, tax = ledger_by_rate.get(rate, (0, 0))
        ledger_by_rate[rate] = (net + amount.net, tax + amount.tax)
    assert {r: v for r, v in ledger_by_rate.items() if any(v)} == _woo_lines_by_rate(order)


def test_a_coupon_removed_is_an_increase_refused_once_and_the_ledger_stays(kit):
    order = replay(kit, "one-of-two-coupons-removed")
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        row = ledger.find_order("rec", str(order["id"]))
        refusals = [(r.reason, r.amount) for r in session.scalars(
            select(RefusalRecord).where(RefusalRecord.order_id == row.id))]
        state = ledger.state_of(row)
    total = to_minor(order["total"], "EUR")
    assert len(refusals) == 1 and refusals[0][1] > 0
    assert state.open_amount + refusals[0][1] == total  # what was refused is the increase


def _refunded_by_rate(order: dict, refunds: list[dict]) -> dict[Decimal, tuple[int, int]]:
    """(net, tax) per rate that WooCommerce's refunds took, from their rows' taxes."""
    rates = {t["rate_id"]: Decimal(str(t["rate_percent"])) for t in order["tax_lines"]}
    out: dict[Decimal, tuple[int, int]] = {}
    for refund in refunds:
        for key in ("line_items", "shipping_lines", "fee_lines"):
            for row in refund.get(key) or ():
                taxed = [t for t in row["taxes"] if Decimal(t["total"] or 0)]
                rate = rates[taxed[0]["id"]] if taxed else Decimal(0)
                tax = -sum(to_minor(t["total"], "EUR") for t in taxed)
                net, had = -to_minor(row["total"], "EUR"), out.get(rate, (0, 0))
                out[rate] = (had[0] + net, had[1] + tax)
    return out


# not fee-refunded: its fee was added after placement, an increase the kit refused, so the
# refund of that fee meets a ledger that never held it (open in issue 22)
@pytest.mark.parametrize("name", ["shipping-refunded-alone", "line-amount-refunded-qty-0",
                                  "partial-refund-quantities-two-rates",
                                  "three-rates-shipping-completed-fully-refunded",
                                  "two-partial-refunds", "rounding-pens-7x099"])
def test_a_refund_read_from_woocommerce_credits_each_rate_as_woocommerce_did(kit, name):
    """With the REST key the kit reads the refund's rows: shipping alone, part of a line's
    price (quantity 0), a fee, units at two rates; its credit notes take per rate what
    WooCommerce's refund took, so the ledger ends equal to WooCommerce's order less its
    refunds."""
    rec = recording(name)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        serve_rest(api, rec)
        order = replay(kit, name, REST)
    refunds = [answer for key, answer in rec["rest"].items()
               if re.fullmatch(r"GET /wc/v3/orders/\d+/refunds/\d+", key)]
    assert refunds
    shop = _woo_lines_by_rate(order)
    for rate, (net, tax) in _refunded_by_rate(order, refunds).items():
        had = shop.get(rate, (0, 0))
        shop[rate] = (had[0] - net, had[1] - tax)
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        state = ledger.state_of(ledger.find_order("rec", str(order["id"])))
    held = {rate: (a.net, a.tax) for rate, a in state.open_by_rate}
    assert {r: v for r, v in held.items() if any(v)} == {
        r: v for r, v in shop.items() if any(v)}


WITH_ORDERS = sorted(p.stem for p in RECORDINGS
                     if p.stem not in {"webhook-ping", "rest-basic-auth-over-http"})
# what the kit cannot follow ends as drift the merchant sees (orders show, shops sync)
DRIFTS = {"fee-refunded", "line-added-after-placement", "one-of-two-coupons-removed",
          "refund-deleted"}


@pytest.mark.parametrize("name", WITH_ORDERS)
def test_every_recording_stays_equal_to_woocommerce_per_rate_or_visibly_different(kit, name):
    """Step by step through each recording (REST key set, WooCommerce's answers served),
    the ledger holds per tax rate, net and tax, what WooCommerce's order of that step holds
    less the refunds it lists — nothing once it is cancelled, refunded or failed — so every
    invoice and credit note is WooCommerce's difference between two steps; or the
    difference is recorded as drift for the merchant to see."""
    from core.ledger.models import OrderDrift

    rec = recording(name)
    refunds = {str(answer["id"]): answer for key, answer in rec["rest"].items()
               if re.fullmatch(r"GET /wc/v3/orders/\d+/refunds/\d+", key)}
    drifted = False
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        serve_rest(api, rec)
        client = connect(kit, rec["secret"], REST)
        for step in rec["steps"]:
            post(client, [step])
            signed = [json.loads(body) for headers, body in deliveries([step])
                      if "X-WC-Webhook-Signature" in headers]
            if not signed:
                continue
            order = signed[-1]
            with session_scope(kit.engine) as session:
                ledger = Ledger(session)
                try:
                    state = ledger.state_of(ledger.find_order("rec", str(order["id"])))
                except InvoicekitError:
                    continue  # not placed (yet): nothing held
                drifted |= bool(session.scalars(select(OrderDrift.kind).where(
                    OrderDrift.shop_order_id == str(order["id"]),
                    OrderDrift.resolved_at.is_(None))).all())
            if drifted:
                continue
            held = {rate: (a.net, a.tax) for rate, a in state.open_by_rate if a.gross}
            if order["status"] in ("cancelled", "refunded", "failed") \
                    or not state.status.is_open:
                assert held == {}, step["action"]
                continue
            if any(str(r["id"]) not in refunds for r in order["refunds"]):
                continue  # a refund deleted later: its rows are not recorded
            shop = _woo_lines_by_rate(order)
            listed = [refunds[str(r["id"])] for r in order["refunds"]]
            for rate, (net, tax) in _refunded_by_rate(order, listed).items():
                had = shop.get(rate, (0, 0))
                shop[rate] = (had[0] - net, had[1] - tax)
            assert held == {r: v for r, v in shop.items() if any(v)}, step["action"]
    assert drifted == (name in DRIFTS)
