"""Orders with cart promotions, priced the way Shopware's cart prices them (tests/
shopware_standin/prices.py): a promotion line has no tax rules of its own, so its tax comes
from the order's ``price.calculatedTaxes``; the snapshot's amounts per tax rate are
Shopware's to the cent, through placement, shipment, a partial return and its refund."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select
from test_shopware_admin_api import SHOP, install, kit  # noqa: F401  (the kit fixture)

from core.ledger.db import session_scope
from core.ledger.models import Delivery
from core.ledger.store import Ledger
from plugins.shopware.order import to_snapshot
from shopware_standin import Product, Promotion, StandIn, priced_order, running

PRODUCTS = [Product("Office chair", 2, Decimal("183.50"), Decimal(19), "CH-2"),
            Product("Printer paper A4", 10, Decimal("5.35"), Decimal(7), "PA-4"),
            Product("Desk lamp", 3, Decimal("41.65"), Decimal(19), "LA-3")]
PROMOTIONS = [Promotion("10 % off everything", "TEN", percentage=Decimal(10)),
              Promotion("20 EUR off", "TWENTY", absolute=Decimal(20))]


def per_rate(snapshot) -> dict[str, tuple[int, int]]:
    """(gross, tax) in cents per tax rate over the snapshot's lines."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in snapshot.lines:
        sums[str(line.tax_rate.normalize())][0] += line.gross
        sums[str(line.tax_rate.normalize())][1] += line.tax
    return {rate: (g, t) for rate, (g, t) in sums.items()}


def shopware_per_rate(order) -> dict[str, tuple[int, int]]:
    return {str(Decimal(str(t["taxRate"])).normalize()):
            (round(t["price"] * 100), round(t["tax"] * 100))
            for t in order["price"]["calculatedTaxes"]}


def test_percentage_and_absolute_promotions_are_taxed_as_shopware_taxed_them():
    order = priced_order(PRODUCTS, PROMOTIONS)
    assert shopware_per_rate(order) == {"19": (436_61, 69_71), "7": (46_19, 3_02)}
    snapshot = to_snapshot(order, "s", "open")
    assert per_rate(snapshot) == shopware_per_rate(order)
    assert (snapshot.total, snapshot.total_tax, snapshot.discount_total) == (482_80, 72_73,
                                                                              74_55)
    promotions = {line.line_id: (line.gross, line.tax) for line in snapshot.lines
                  if line.gross < 0}
    ten, twenty = (li["id"] for li in order["lineItems"][3:])
    # each promotion over both rates, as Shopware splits it by the goods' shares
    assert promotions == {f"{ten}:19": (-49_20, -7_86), f"{ten}:7": (-5_35, -35),
                          f"{twenty}:19": (-18_04, -2_88), f"{twenty}:7": (-1_96, -13)}


@pytest.mark.parametrize("percent", [Decimal(3), Decimal("12.5"), Decimal(33)])
def test_odd_percentages_still_add_up_per_rate(percent):
    order = priced_order(PRODUCTS, [Promotion("odd", "ODD", percentage=percent),
                                    Promotion("fix", "FIX", absolute=Decimal("7.77"))],
                         shipping=Decimal("4.99"))
    assert per_rate(to_snapshot(order, "s", "open")) == shopware_per_rate(order)


def ledger_of(the_kit, order_id):
    with session_scope(the_kit.engine) as session:
        ledger = Ledger(session)
        row = ledger.find_order(SHOP, order_id)
        state = ledger.state_of(row)
        return state.status.value, state.open_amount, [
            (r.kind, r.gross, r.status) for r in ledger.operations_of(row)]


def test_a_promoted_order_placed_shipped_returned_and_refunded(kit):  # noqa: F811
    kit, client = kit
    with running(StandIn()) as shop:
        install(shop, client)
        order = shop.add_order(priced_order(PRODUCTS, PROMOTIONS))

        def send(event):
            url, body, headers = shop.webhook(event, order["id"])
            response = client.post(url.removeprefix("https://kit.example"), data=body,
                                   headers=headers)
            assert response.status_code == 202, response.get_json()

        send("checkout.order.placed")
        assert ledger_of(kit, order["id"])[:2] == ("authorised", 482_80)
        shop.set_state(order["id"], "delivery", "shipped", "2026-11-03T10:00:00.000+00:00")
        send("state_enter.order_delivery.state.shipped")
        assert ledger_of(kit, order["id"])[:2] == ("active", 482_80)

        # two reams of paper come back; Shopware refunds them after the promotions' share
        paper = order["lineItems"][1]["id"]
        order["transactions"][0]["captures"] = [{"id": "c" * 32, "refunds": [{
            "id": "r" * 32, "reason": "damaged", "createdAt": "2026-11-05T08:00:00.000+00:00",
            "amount": {"totalPrice": 8.43},
            "positions": [{"id": "p" * 32, "orderLineItemId": paper, "quantity": 2,
                           "amount": {"totalPrice": 8.43}}]}]}]
        shop.set_state(order["id"], "delivery", "returned_partially",
                       "2026-11-05T08:30:00.000+00:00")
        send("state_enter.order_delivery.state.returned_partially")
    with session_scope(kit.engine) as session:
        assert session.scalars(select(Delivery.status)).all() == ["done"] * 3
    status, open_amount, operations = ledger_of(kit, order["id"])
    # the credit is what Shopware refunded, not the lines' value before the promotions
    assert operations[-1] == ("return", 8_43, "succeeded")
    assert (status, open_amount) == ("active", 482_80 - 8_43)
    # per tax rate the invoice was Shopware's calculatedTaxes, and the paper's refund comes
    # off the 7 % rate alone: 19 % stays 436.61 (tax 69.71), 7 % is 46.19 - 8.43
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        state = ledger.state_of(ledger.find_order(SHOP, order["id"]))
    held = {str(rate.normalize()): (a.gross, a.tax) for rate, a in state.open_by_rate}
    assert held["19"] == (436_61, 69_71)
    assert held["7"][0] == 46_19 - 8_43 and held["7"][1] == 3_02 - 55
