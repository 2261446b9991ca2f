"""References name an order by its number *and* its merchant (``BP<order>/<merchant>``):
read ahead for a whole chunk, each pair finds its own merchant's order, also where two
merchants' shops number their orders alike (on PostgreSQL the pairs go as two arrays
zipped by ``unnest``, not as every number with every merchant)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from conftest import STATUS_MAP
from core.ledger.db import session_scope
from core.ledger.models import Order
from core.ledger.store import Ledger
from core.payments.matching import Matcher
from core.payments.transactions import BankTransaction
from orders import snapshot


def transfer(key: str, remittance: str) -> BankTransaction:
    return BankTransaction(key=key, account_iban="DE02100200300000000001", amount=100,
                           currency="EUR", credit=True, reversal=False,
                           booked_on=date(2026, 5, 4), credited_iban=None,
                           remittance=(remittance,), debtor_iban=None, end_to_end_id=key)


def test_two_merchants_orders_of_the_same_number_are_told_apart(engine, feed):
    with session_scope(engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(id=4444, name="Beta Handel GmbH", country="DE",
                            account_holder="invoicekit Treuhand", bank_code="10020030",
                            bic="ABCDDEFFXXX", account_first=4_000_010_000,
                            account_last=4_000_019_999, kyc_verified=True)
        ledger.add_connection(name="beta", merchant_id=4444, platform="woocommerce",
                              status_map=STATUS_MAP)
    for shop in ("acme", "beta"):
        for number in ("1002", "1003"):
            feed(snapshot(number, shop=shop, status="completed"))
    with session_scope(engine) as session:
        ids = {(order.connection.merchant_id, order.order_number): (order.id, order.buyer_id)
               for order in session.scalars(select(Order))}
        chunk = [transfer("t1", "Rechnung BP1002/4444"), transfer("t2", "BP1003/3333"),
                 transfer("t3", "BP1002/3333 und BP1003/4444")]
        matcher = Matcher(session)
        matcher.prefetch(chunk)
        found = [matcher.match(t) for t in chunk]
    assert [m.order_ids for m in found[:2]] == [(ids[4444, "1002"][0],),
                                                (ids[3333, "1003"][0],)]
    assert [m.buyer_id for m in found[:2]] == [ids[4444, "1002"][1], ids[3333, "1003"][1]]
    assert found[2].method == "proposal"  # two merchants named: the merchant confirms
