"""The eligibility decision: every rule at its boundaries, merchant terms, the company
check's unknown policy, credit limits that grow with on-time payments, the stored decision."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests
import responses
from sqlalchemy import select

from core.context import Company
from core.ledger.db import session_scope
from core.ledger.models import Order, Product, Receivable
from core.ledger.store import Ledger
from core.receivables.book import record_payment
from core.risk.company import VIES_URL
from core.risk.decide import decide
from core.risk.limits import claim_handed_over, profile_of, set_limit
from core.risk.policy import RiskPolicy, load_policy, save_policy, terms_of
from core.risk.rules import Cart, CartLine
from core.schemas import load_snapshot
from core.state import Status
from orders import order_data

MERCHANT = 3333

# a valid business buyer per invoice country: VAT ID (check digits verified with
# python-stdnum), the same ID with a wrong check digit, a legal form, postcode and city
BUYERS = {
    "DE": ("DE136695976", "DE136695975", "GmbH", "10115", "Berlin"),
    "AT": ("ATU13585627", "ATU13585626", "GmbH", "1010", "Wien"),
    "FR": ("FR40303265045", "FR40303265046", "SAS", "75002", "Paris"),
    "NL": ("NL004495445B01", "NL004495446B01", "B.V.", "1012 AB", "Amsterdam"),
    "SE": ("SE556188840401", "SE556188840402", "AB", "111 22", "Stockholm"),
    "NO": ("NO995525828MVA", "NO995525827MVA", "AS", "0150", "Oslo"),
    "FI": ("FI20774740", "FI20774741", "Oy", "00100", "Helsinki"),
    "ES": ("ESA13585625", "ESA13585626", "S.A.", "28013", "Madrid"),
    "DK": ("DK13585628", "DK13585627", "ApS", "1050", "København"),
}


def company(country: str = "DE", **changes) -> Company:
    vat_id, _, form, postcode, city = BUYERS.get(country, (None, None, "GmbH", "8001", "X"))
    values = {"name": "Muster Bürobedarf", "legal_form": form, "vat_id": vat_id,
              "street": "Hauptstraße 5", "postcode": postcode, "city": city, "country": country}
    return Company(**{**values, **changes})


@pytest.fixture
def ask(engine, hooks, shop):
    """Decide for a company and a cart at merchant 3333; the merchant, its products and the
    policy can be changed first."""

    def ask(who: Company | None = None, amount: str = "1000.00", currency: str = "EUR", *,
            lines: tuple[CartLine, ...] = (CartLine("SKU-1"),), kyc: bool = True,
            products: tuple[Product, ...] = (), terms: dict | None = None,
            policy: RiskPolicy | None = None):
        with session_scope(engine) as session:
            ledger = Ledger(session)
            merchant = ledger.merchant(MERCHANT)
            merchant.kyc_verified = kyc
            merchant.risk_terms = terms_of(merchant).with_changes(**(terms or {})).changes()
            for p in products:
                session.add(Product(merchant_id=MERCHANT, sku=p.sku, approved=p.approved,
                                    trial=p.trial))
            if policy is not None:
                save_policy(ledger, policy)
            cart = Cart(currency, int(Decimal(amount) * 100), lines)
            return decide(ledger, hooks, merchant, who or company(), cart)

    return ask


@pytest.mark.parametrize(("amount", "reasons"), [
    ("49.99", ["amount_below_minimum"]), ("50.00", []), ("19999.00", []),
    ("19999.01", ["amount_above_maximum"]),
])
def test_cart_value_is_inclusive_at_both_ends(ask, amount, reasons):
    decision = ask(amount=amount)
    assert list(decision.reasons) == reasons and decision.approved is (not reasons)


@pytest.mark.parametrize("country", sorted(BUYERS))
def test_each_listed_country_is_approved_with_a_valid_vat_id(ask, country):
    decision = ask(company(country))
    assert decision.approved, decision.reasons
    assert decision.company is not None and decision.company.status == "valid"


@pytest.mark.parametrize("country", sorted(BUYERS))
def test_a_wrong_check_digit_declines_in_each_country(ask, country):
    decision = ask(company(country, vat_id=BUYERS[country][1]))
    assert list(decision.reasons) == ["vat_id_invalid"]


@pytest.mark.parametrize("country", ["CH", "US", "GB", "PL", "IT"])
def test_unlisted_countries_are_declined(ask, country):
    assert "country_not_supported" in ask(company(country)).reasons


@pytest.mark.parametrize(("changes", "reason"), [
    ({"name": ""}, "not_a_business"),
    ({"name": "   "}, "not_a_business"),
    ({"legal_form": None}, "not_a_business"),
    ({"legal_form": "SARL"}, "legal_form_invalid"),
    ({"vat_id": "ATU13585627"}, "vat_id_country_mismatch"),
    ({"postcode": "1234"}, "address_implausible"),
    ({"street": ""}, "address_implausible"),
])
def test_consumers_and_bad_company_data_are_declined(ask, changes, reason):
    assert reason in ask(company("DE", **changes)).reasons


def test_a_business_without_vat_id_is_eligible(ask):
    assert ask(company("DE", vat_id=None)).approved


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"kyc": False}, "merchant_not_verified"),
    ({"products": (Product(sku="SKU-1", approved=False, trial=False),)},
     "product_not_approved"),
    ({"terms": {"listed_products_only": True}}, "no_approved_products"),
    ({"terms": {"listed_products_only": True},
      "products": (Product(sku="OTHER", approved=True, trial=False),)}, "product_not_approved"),
    ({"products": (Product(sku="SKU-1", approved=True, trial=True),)}, "trial_product"),
    ({"lines": (CartLine("SKU-1", trial=True),)}, "trial_product"),
])
def test_merchant_and_product_rules(ask, kwargs, reason):
    assert list(ask(**kwargs).reasons) == [reason]


def test_listed_approved_products_pass_when_only_listed_ones_may(ask):
    decision = ask(terms={"listed_products_only": True},
                   products=(Product(sku="SKU-1", approved=True, trial=False),))
    assert decision.approved


def test_every_broken_rule_is_named(ask):
    decision = ask(company("US", name=""), amount="20.00", kyc=False)
    assert list(decision.reasons) == ["not_a_business", "amount_below_minimum",
                                      "country_not_supported", "merchant_not_verified"]


@pytest.mark.parametrize(("terms", "who", "amount", "approved"), [
    ({"minimum": 100_00}, "DE", "99.99", False),
    ({"minimum": 100_00}, "DE", "100.00", True),
    ({"maximum": 50_000_00}, "DE", "25000.00", True),
    ({"countries": ["DE", "AT", "CH"]}, "CH", "500.00", True),
    ({"countries": ["DE"]}, "AT", "500.00", False),
])
def test_merchant_terms_override_the_defaults(ask, terms, who, amount, approved):
    policy = RiskPolicy(initial_limit=100_000_00, limit_cap=100_000_00)
    assert ask(company(who), amount, terms=terms, policy=policy).approved is approved


@pytest.mark.parametrize(("amount", "currency", "reasons"), [
    ("500.00", "SEK", []),  # 50.00 EUR at 10 SEK per EUR
    ("499.99", "SEK", ["amount_below_minimum"]),
    ("199990.00", "SEK", []),
    ("199990.10", "SEK", ["amount_above_maximum"]),
    ("500.00", "NOK", ["currency_not_supported"]),
])
def test_other_currencies_convert_at_the_policy_rate(ask, amount, currency, reasons):
    policy = RiskPolicy(eur_rates={"SEK": Decimal(10)})
    assert list(ask(company("SE"), amount, currency, policy=policy).reasons) == reasons


def test_the_fee_comes_with_the_decision(ask):
    decision = ask(amount="1190.00")
    assert decision.fee == 83_18  # 6.99 % of 1,190.00, half up
    assert decision.to_json()["fee"] == {"percent": "6.99", "amount": "83.18", "vat": "0.00"}


@pytest.mark.parametrize(("changes", "score"), [
    ({}, 60),
    ({"founded_on": date(2012, 3, 1), "employees": 40}, 75),
    ({"founded_on": datetime.now(UTC).date() - timedelta(days=100)}, 45),
])
def test_company_age_and_size_move_the_score(ask, changes, score):
    decision = ask(company("DE", **changes))
    assert decision.approved and decision.score == score


def test_a_business_type_the_merchant_excludes_is_declined(ask):
    terms = {"excluded_business_types": ["Gambling"]}
    assert list(ask(company("DE", business_type="gambling"), terms=terms).reasons) == [
        "business_type_excluded"]
    assert ask(company("DE", business_type="retail"), terms=terms).approved


def test_without_credit_limits_only_rules_and_company_decide(ask):
    decision = ask(amount="19999.00", terms={"credit_limits": False},
                   policy=RiskPolicy(initial_limit=100_00, limit_cap=100_00))
    assert decision.approved and decision.limit is None and decision.score is None


# -- VIES and the merchant's policy for unknown ---------------------------------------------


@responses.activate
@pytest.mark.parametrize(("on_unknown", "approved"), [("approve", True), ("decline", False)])
def test_vies_unreachable_is_unknown_and_the_merchant_decides(ask, on_unknown, approved):
    responses.post(VIES_URL, body=requests.ConnectionError("no route to host"))
    decision = ask(terms={"vies": True, "on_unknown": on_unknown})
    assert decision.company.status == "unknown"
    assert decision.approved is approved
    assert list(decision.reasons) == ([] if approved else ["company_unverified"])
    assert len(responses.calls) == 1


@responses.activate
def test_vies_member_state_down_is_unknown_too(ask):
    responses.post(VIES_URL, json={"countryCode": "DE", "vatNumber": "136695976",
                                   "valid": False, "userError": "MS_UNAVAILABLE"})
    decision = ask(terms={"vies": True, "on_unknown": "decline"})
    assert decision.company.status == "unknown"
    assert list(decision.reasons) == ["company_unverified"]


@responses.activate
def test_vies_confirms_or_rejects_a_vat_id(ask):
    responses.post(VIES_URL, json={"countryCode": "DE", "vatNumber": "136695976",
                                   "valid": True, "name": "MUSTER"})
    assert ask(terms={"vies": True}).company.status == "valid"
    responses.replace(responses.POST, VIES_URL, json={"countryCode": "DE",
                      "vatNumber": "136695976", "valid": False})
    decision = ask(terms={"vies": True})
    assert decision.company.status == "invalid" and not decision.approved


@responses.activate
def test_a_rule_decline_asks_no_register(ask):
    decision = ask(company("US"), terms={"vies": True})
    assert not decision.approved and len(responses.calls) == 0


# -- credit limits ----------------------------------------------------------------------------


def place(feed, order_id: str, amount: str, status: str = "processing", minutes: int = 0):
    data = order_data(order_id, lines=[("1", "product", "Item", 1, amount, "0")], discounts=[],
                      status=status, minutes=minutes)
    return feed(load_snapshot(data))


def pay_in_full(engine, order_id: str, on: date) -> None:
    with session_scope(engine) as session:
        ledger = Ledger(session)
        order = ledger.find_order("acme", order_id)
        owed = sum(r.gross - r.credited - r.paid for r in session.scalars(
            select(Receivable).where(Receivable.order_id == order.id)))
        record_payment(ledger, order, owed, booked_on=on, reference=None, source="test",
                       key=f"pay-{order_id}")


def limit_history(engine) -> list[tuple[int | None, int, str]]:
    with session_scope(engine) as session:
        profile = profile_of(session, "vat:DE136695976")
        return [(c.previous, c.limit, c.reason) for c in profile.changes]


def test_the_limit_grows_with_on_time_payments_and_holds_orders_above_it(engine, feed):
    with session_scope(engine) as session:
        save_policy(Ledger(session), RiskPolicy(initial_limit=1000_00, grow_after=2,
                                                grow_percent=Decimal(50), limit_cap=2000_00))
    today = datetime.now(UTC).date()
    assert place(feed, "A", "800.00").status is Status.AUTHORISED
    declined = place(feed, "B", "300.00")
    assert declined.status is Status.DECLINED and declined.decline_reason == "limit_exceeded"

    place(feed, "A", "800.00", "completed", minutes=1)  # invoiced: still owed
    assert place(feed, "B2", "300.00").decline_reason == "limit_exceeded"
    pay_in_full(engine, "A", today)  # on time: frees the limit, one towards growth
    assert place(feed, "C", "300.00").status is Status.AUTHORISED
    place(feed, "C", "300.00", "completed", minutes=1)
    pay_in_full(engine, "C", today + timedelta(days=30))  # on the due day: on time
    assert [(p, n) for p, n, _ in limit_history(engine)] == [(None, 1000_00), (1000_00, 1500_00)]
    assert "grew 50 % after 2 invoices paid on time" in limit_history(engine)[1][2]

    for n in ("G1", "G2"):  # two more on time: 1500.00 would grow to 2250.00, capped
        place(feed, n, "100.00")
        place(feed, n, "100.00", "completed", minutes=1)
        pay_in_full(engine, n, today)
    assert limit_history(engine)[-1][:2] == (1500_00, 2000_00)
    assert limit_history(engine)[-1][2].endswith(", capped at 2000.00 EUR")
    with session_scope(engine) as session:
        save_policy(Ledger(session), RiskPolicy(initial_limit=1000_00, limit_cap=2000_00))
        set_limit(Ledger(session), "vat:DE136695976", 1500_00, "set by hand: test")

    assert place(feed, "D", "1400.00").status is Status.AUTHORISED  # fits the grown limit
    assert place(feed, "E", "200.00").decline_reason == "limit_exceeded"
    with session_scope(engine) as session:
        decision = session.scalars(select(Order.decision).where(Order.shop_order_id == "E")).one()
    assert decision["limit"] == {"currency": "EUR", "limit": "1500.00", "used": "1600.00",
                                 "available": "100.00"}


def test_a_late_payment_starts_the_count_again_and_a_handover_shrinks(engine, feed):
    with session_scope(engine) as session:
        save_policy(Ledger(session), RiskPolicy(initial_limit=1000_00, grow_after=2,
                                                grow_percent=Decimal(50), limit_cap=2000_00))
    today = datetime.now(UTC).date()
    for n, late in (("A", 0), ("B", 31), ("C", 0)):
        place(feed, n, "100.00")
        place(feed, n, "100.00", "completed", minutes=1)
        pay_in_full(engine, n, today + timedelta(days=late))
    assert [c[1] for c in limit_history(engine)] == [1000_00]  # on time, late, on time
    place(feed, "D", "100.00")
    place(feed, "D", "100.00", "completed", minutes=1)
    with session_scope(engine) as session:
        receivable = session.scalars(select(Receivable).join(Order).where(
            Order.shop_order_id == "D")).one()
        claim_handed_over(session, receivable, "INV-000004")
    assert limit_history(engine)[-1][:2] == (1000_00, 500_00)
    assert "after INV-000004 was handed over" in limit_history(engine)[-1][2]


def test_claims_at_collection_and_overdue_invoices_decline(engine, feed):
    place(feed, "A", "100.00")
    place(feed, "A", "100.00", "completed", minutes=1)
    with session_scope(engine) as session:
        receivable = session.scalars(select(Receivable)).one()
        receivable.due_on = datetime.now(UTC).date() - timedelta(days=1)
    assert place(feed, "B", "100.00").decline_reason == "invoices_overdue"
    with session_scope(engine) as session:
        session.scalars(select(Receivable)).one().status = "handed_over"
    assert place(feed, "C", "100.00").decline_reason == "collection_entries"


def test_the_decision_is_stored_on_the_order(engine, feed):
    place(feed, "A", "1190.00")
    with session_scope(engine) as session:
        decision = session.scalars(select(Order.decision)).one()
        assert load_policy(Ledger(session)).initial_limit == 20_000_00
    assert decision["decision"] == "approved" and decision["reasons"] == []
    assert decision["fee"]["amount"] == "83.18"
    assert decision["limit"] == {"currency": "EUR", "limit": "20000.00", "used": "1190.00",
                                 "available": "20000.00"}


def test_two_first_orders_of_a_new_buyer_at_once_share_one_limit(engine, hooks, shop):
    """Both decided at the same moment: the buyer's limit fits one of them, never both."""
    import threading

    from core.execute import process_snapshot

    with session_scope(engine) as session:
        save_policy(Ledger(session), RiskPolicy(initial_limit=1000_00, limit_cap=1000_00))
    barrier, outcomes = threading.Barrier(2), {}

    def place_one(order_id: str) -> None:
        data = order_data(order_id, lines=[("1", "product", "Item", 1, "600.00", "0")],
                          discounts=[])
        barrier.wait()
        outcomes[order_id] = process_snapshot(engine, hooks, load_snapshot(data))

    threads = [threading.Thread(target=place_one, args=(n,)) for n in ("X1", "X2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(o.status.value for o in outcomes.values())
    assert statuses == ["authorised", "declined"], statuses
    assert [o.decline_reason for o in outcomes.values() if o.decline_reason] == [
        "limit_exceeded"]
