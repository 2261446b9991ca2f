"""``POST /api/v1/eligibility`` and ``invoicekit apikeys``: keys, errors, answers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.ledger.db import session_scope
from core.ledger.models import ApiKey, CreditProfile, Order
from core.ledger.store import Ledger
from core.risk.apikeys import create_key, revoke_key

URL = "/api/v1/eligibility"
REQUEST = {
    "amount": "1190.00", "currency": "EUR",
    "buyer": {"company": "Muster Bürobedarf", "legal_form": "GmbH", "vat_id": "DE136695976",
              "street": "Hauptstraße 5", "postcode": "10115", "city": "Berlin",
              "country": "DE"},
    "lines": [{"sku": "DESK-1"}],
}


@pytest.fixture
def api_key(kit, woo_shop) -> str:
    with session_scope(kit.engine) as session:
        return create_key(Ledger(session), 3333, "checkout")[1]


def ask(client, key: str | None, body=REQUEST, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return client.post(URL, json=body, headers=headers, **kwargs)


def test_an_eligible_buyer_is_approved_with_limit_and_fee(client, api_key):
    answer = ask(client, api_key)
    assert answer.status_code == 200
    assert answer.json == {
        "decision": "approved", "reasons": [], "currency": "EUR", "amount": "1190.00",
        "fee": {"percent": "6.99", "amount": "83.18", "vat": "0.00"},
        "company": {"status": "valid", "reasons": [], "source": "format"},
        "score": 60,
        "limit": {"currency": "EUR", "limit": "20000.00", "used": "1190.00",
                  "available": "20000.00"},
        "notes": []}


def test_a_declined_buyer_gets_every_reason(client, api_key):
    body = {**REQUEST, "amount": "20.00",
            "buyer": {**REQUEST["buyer"], "country": "US", "legal_form": None}}
    answer = ask(client, api_key, body)
    assert answer.status_code == 200
    assert answer.json["decision"] == "declined"
    assert answer.json["reasons"] == ["not_a_business", "amount_below_minimum",
                                      "country_not_supported"]


def test_a_legal_form_in_the_company_name_counts_as_at_placement(client, api_key):
    body = {**REQUEST, "buyer": {**REQUEST["buyer"], "company": "Muster Bürobedarf GmbH",
                                 "legal_form": None}}
    answer = ask(client, api_key, body)
    assert answer.json["decision"] == "approved", answer.json
    no_form = {**REQUEST, "buyer": {**REQUEST["buyer"], "legal_form": None}}
    assert ask(client, api_key, no_form).json["reasons"] == ["not_a_business"]


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic aWs6aWs=", "Bearer ik_000000000000_wrong",
    "Bearer not-a-key", "Token ik_x_y",
])
def test_missing_or_wrong_keys_get_401(client, api_key, header):
    headers = {} if header is None else {"Authorization": header}
    answer = client.post(URL, json=REQUEST, headers=headers)
    assert answer.status_code == 401
    assert api_key not in answer.get_data(as_text=True)


def test_a_key_with_a_wrong_secret_or_revoked_gets_401(client, kit, api_key):
    prefix = api_key.split("_", 2)[1]
    assert ask(client, f"ik_{prefix}_{'x' * 43}").status_code == 401
    with session_scope(kit.engine) as session:
        revoke_key(Ledger(session), session.scalars(select(ApiKey.id)).one())
    assert ask(client, api_key).status_code == 401


def test_keys_are_stored_hashed(kit, api_key):
    with session_scope(kit.engine) as session:
        record = session.scalars(select(ApiKey)).one()
    assert api_key not in (record.secret_hash, record.prefix) and len(record.secret_hash) == 64


@pytest.mark.parametrize(("change", "field"), [
    (lambda b: b.pop("amount"), "amount"),
    (lambda b: b.update(amount=1190.0), "amount"),
    (lambda b: b.update(amount="11.999"), "amount"),
    (lambda b: b.update(amount="-5.00"), "amount"),
    (lambda b: b.update(currency="XXY"), "currency"),
    (lambda b: b.pop("buyer"), "buyer"),
    (lambda b: b["buyer"].pop("company"), "buyer.company"),
    (lambda b: b["buyer"].update(country="de"), "buyer.country"),
    (lambda b: b["buyer"].update(employees="12"), "buyer.employees"),
    (lambda b: b["buyer"].update(founded_on="yesterday"), "buyer.founded_on"),
    (lambda b: b["lines"][0].update(trial="no"), "lines.0.trial"),
    (lambda b: b.update(coupon="X"), "coupon"),
])
def test_malformed_requests_get_422_naming_the_field(client, kit, api_key, change, field):
    body = {**REQUEST, "buyer": dict(REQUEST["buyer"]), "lines": [dict(REQUEST["lines"][0])]}
    change(body)
    answer = ask(client, api_key, body)
    assert answer.status_code == 422, answer.json
    assert field in answer.json["fields"], answer.json


def test_a_body_that_is_not_json_gets_400(client, api_key):
    answer = client.post(URL, data=b"amount=12", headers={"Authorization": f"Bearer {api_key}"})
    assert answer.status_code == 400


def test_asking_writes_nothing(client, kit, api_key):
    assert ask(client, api_key).status_code == 200
    with session_scope(kit.engine) as session:
        assert session.scalar(select(func.count()).select_from(CreditProfile)) == 0
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_the_key_decides_for_its_own_merchant_only(client, kit, api_key):
    with session_scope(kit.engine) as session:
        Ledger(session).merchant(3333).kyc_verified = False
    assert ask(client, api_key).json["reasons"] == ["merchant_not_verified"]
