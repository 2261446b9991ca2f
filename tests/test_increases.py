"""Increases of an order: passed on to a provider that accepts them (Billie's Update Order,
exact to the cent per tax rate; a decline is a refusal the merchant sees), refused by the
local provider as BillPay's rules say."""

from __future__ import annotations

from decimal import Decimal

import pytest
import responses
from responses.registries import OrderedRegistry
from sqlalchemy import select
from test_billie import BASE, ORDER_UUID, SETTINGS, as_json, billie_order

from conftest import MERCHANT_ID
from core.execute import process_snapshot
from core.ledger.db import session_scope
from core.ledger.models import OperationRecord, RefusalRecord, WriteBackRecord
from core.ledger.store import Ledger
from core.money import Amount
from core.operations import OperationKind
from core.reconcile import Rules, reconcile
from core.retry import Backoff
from core.state import Status
from orders import OFFICE_LINES, snapshot
from plugins.billie import client as billie_client
from plugins.billie import wire

ONCE = Backoff(base=0, max_attempts=1, jitter=False)
STAPLER = ("4", "product", "Stapler", 1, "20.00", "19")  # 23.80 gross at 19 %
TONER = ("5", "product", "Toner", 1, "40.00", "7")  # 42.80 gross at 7 %
ORDER = BASE + f"orders/{ORDER_UUID}"


def placed(engine, hooks, **kwargs):
    outcome = process_snapshot(engine, hooks, snapshot(**kwargs), ONCE)
    assert outcome.failure is None and outcome.status is Status.AUTHORISED
    return outcome


def state_of(engine, order_id="1001"):
    with session_scope(engine) as session:
        ledger = Ledger(session)
        return ledger.state_of(ledger.find_order("acme", order_id))


def refusals(engine):
    with session_scope(engine) as session:
        return [(r.reason, r.amount, r.message) for r in session.scalars(select(RefusalRecord))]


# -- the local provider refuses, as before ----------------------------------------------


def test_the_local_provider_refuses_an_increase(engine, hooks, shop):
    placed(engine, hooks)
    outcome = process_snapshot(engine, hooks, snapshot(lines=[*OFFICE_LINES, STAPLER],
                                                      minutes=1), ONCE)
    assert outcome.executed == ()
    assert [(r.reason, r.amount) for r in outcome.refusals] == [("increase", 2380)]
    assert state_of(engine).total_seen == 54973
    assert not hooks.providers()["local"].increases


# -- deciding an increase ----------------------------------------------------------------


def test_an_increase_is_decided_per_tax_rate_to_the_cent(engine, hooks, shop):
    placed(engine, hooks)
    state = state_of(engine)
    grown = snapshot(lines=[*OFFICE_LINES, STAPLER, TONER], minutes=1)
    refused = reconcile(grown, state, Rules())
    assert refused.operations == () and refused.refusals[0].reason == "increase"
    decision = reconcile(grown, state, Rules(), increases=True)
    assert decision.refusals == ()
    [op] = decision.operations
    assert op.kind is OperationKind.INCREASE and not op.after_activation
    assert op.amount == Amount(6660, 6000, 660) and op.source == "increase:61633"
    assert op.by_rate == ((Decimal("7"), Amount(4280, 4000, 280)),
                          (Decimal("19"), Amount(2380, 2000, 380)))
    assert [(ol.line_id, ol.quantity, ol.amount) for ol in op.lines] == [
        ("4", 1, 2380), ("5", 1, 4280)]
    declined = reconcile(grown, state, Rules(), increases=True, declined=frozenset({op.source}))
    assert declined.operations == () and declined.refusals == ()  # told when declined


def test_a_fully_invoiced_order_is_never_increased(engine, hooks, shop):
    placed(engine, hooks)
    process_snapshot(engine, hooks, snapshot(status="completed", minutes=1), ONCE)
    state = state_of(engine)
    assert state.status is Status.ACTIVE and state.unbilled == 0
    decision = reconcile(snapshot(lines=[*OFFICE_LINES, STAPLER], status="completed",
                                  minutes=2), state, Rules(), increases=True)
    assert decision.operations == ()
    assert [r.reason for r in decision.refusals] == ["increase"]


# -- Billie ----------------------------------------------------------------------------


@pytest.fixture
def billie(engine, shop):
    billie_client.clear_token_cache()
    with session_scope(engine) as session:
        Ledger(session).configure_merchant(MERCHANT_ID, provider="billie",
                                           provider_settings=SETTINGS)
    yield
    billie_client.clear_token_cache()


def billie_placed(api, engine, hooks):
    api.post(BASE + "oauth/token", json={"expires_in": 28800, "access_token": "eyJ.one"})
    api.add("POST", BASE + "orders", body=as_json(billie_order(gross="549.73", net="467.00")),
            content_type="application/json")
    placed(engine, hooks)
    api.add("GET", ORDER, body=as_json(billie_order(gross="549.73", net="467.00")),
            content_type="application/json")


def test_billie_raises_the_order_amount_exactly(engine, hooks, billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        billie_placed(api, engine, hooks)
        update = api.post(ORDER, status=204)
        outcome = process_snapshot(engine, hooks, snapshot(lines=[*OFFICE_LINES, STAPLER],
                                                          minutes=1), ONCE)
        assert outcome.failure is None and outcome.refusals == ()
        assert wire.loads(update.calls[0].request.body) == {"amount": {
            "net": Decimal("487.00"), "gross": Decimal("573.53"), "tax": Decimal("86.53")}}
    state = state_of(engine)
    assert (state.authorised, state.total_seen, state.unbilled) == (57353, 57353, 57353)
    assert state.lines["4"].ordered == 1
    assert refusals(engine) == []


def test_an_increase_billie_already_made_is_not_sent_again(engine, hooks, billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        api.post(BASE + "oauth/token", json={"expires_in": 28800, "access_token": "eyJ.one"})
        api.add("POST", BASE + "orders",
                body=as_json(billie_order(gross="549.73", net="467.00")),
                content_type="application/json")
        placed(engine, hooks)
        api.add("GET", ORDER, body=as_json(billie_order(gross="573.53", net="487.00")),
                content_type="application/json")
        outcome = process_snapshot(engine, hooks, snapshot(lines=[*OFFICE_LINES, STAPLER],
                                                          minutes=1), ONCE)
        assert outcome.failure is None
        assert not [c for c in api.calls if c.request.method == "POST"
                    and c.request.url == ORDER]
    assert state_of(engine).total_seen == 57353


def test_billie_declining_the_increase_is_a_refusal_and_a_note(engine, hooks, billie):
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        billie_placed(api, engine, hooks)
        api.post(ORDER, status=400, json={"errors": [
            {"title": "Debtor limit exceeded", "code": "debtor_limit_exceeded"}]})
        grown = snapshot(lines=[*OFFICE_LINES, STAPLER], minutes=1)
        outcome = process_snapshot(engine, hooks, grown, ONCE)
        assert outcome.failure is None and outcome.executed == ()
        # the same change again: Billie is not asked twice, the merchant not told twice
        again = process_snapshot(engine, hooks, snapshot(lines=[*OFFICE_LINES, STAPLER],
                                                        minutes=2), ONCE)
        assert again.failure is None and again.executed == ()
    [(reason, amount, message)] = refusals(engine)
    assert (reason, amount) == ("increase", 2380)
    assert "billie declined raising the order by 23.80 EUR to 573.53 EUR" in message
    assert "Debtor limit exceeded" in message
    state = state_of(engine)
    assert (state.status, state.authorised, state.total_seen) == (Status.AUTHORISED, 54973,
                                                                  54973)
    with session_scope(engine) as session:
        notes = [w.event for w in session.scalars(select(WriteBackRecord))]
        [record] = session.scalars(select(OperationRecord).where(
            OperationRecord.kind == "increase")).all()
        assert record.status == "succeeded" and record.marks["declined"]
    assert notes.count("refused") == 1
