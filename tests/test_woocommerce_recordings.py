"""The recordings of a real WooCommerce (tests/fixtures/woocommerce/recordings, made by
bench/woocommerce_record): every delivery WooCommerce signed verifies with the plugin and
parses, a changed byte does not verify, and the pings are recognised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InvoicekitError
from plugins.woocommerce import plugin

RECORDINGS = sorted((Path(__file__).parent / "fixtures" / "woocommerce" / "recordings")
                    .glob("*.json"))


def deliveries(path: Path) -> list[tuple[dict, bytes]]:
    recording = json.loads(path.read_text(encoding="utf-8"))
    return [(d["headers"], d["body"].encode("utf-8"))
            for step in recording["steps"] for d in step["deliveries"]]


def test_there_are_recordings_of_the_cases_issue_22_names():
    names = {path.stem for path in RECORDINGS}
    assert {"coupon-added-to-processing-order", "line-qty-lowered-after-completion",
            "shipping-refunded-alone", "line-amount-refunded-qty-0", "negative-fee-mixed-rates",
            "payment-method-changed-then-cancelled", "refund-deleted", "placed-order-failed",
            "on-hold-then-completed", "one-of-two-coupons-removed",
            "webhook-disabled-after-failures", "rest-basic-auth-over-http"} <= names
    assert len(names) >= 24


# Found by the recordings, open in issue 22: WooCommerce's order carries shipping_total and
# shipping_tax (4.90 + 0.93) with no shipping line, so the lines do not add up to the total.
NOT_YET_READ = {"rounding-pens-7x099": "shipping totals without a shipping line"}


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, raises=InvoicekitError,
                                            reason=NOT_YET_READ[p.stem]))
    if p.stem in NOT_YET_READ else p for p in RECORDINGS], ids=lambda p: p.stem)
def test_every_recorded_delivery_verifies_and_parses(path):
    recording = json.loads(path.read_text(encoding="utf-8"))
    secret = recording["secret"]
    for headers, body in deliveries(path):
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
            assert snapshot.order_id == str(json.loads(body)["id"])
