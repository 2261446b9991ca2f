"""The snapshot's plain reader (``core.schemas.load_snapshot`` through :mod:`core.readers`)
against the marshmallow schema it replaced, kept here as the oracle: on valid and invalid
payloads both give the same snapshot, or the same errors under the same paths."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from marshmallow import fields, validate
from readers_fuzz import changed, edge_and_json_tests, oracle, outcome

from core import schemas
from core.schemas import (
    MoneyField,
    StrictInteger,
    StrictSchema,
    country_field,
    dump_snapshot,
    load_snapshot,
    optional_text,
    text_field,
)
from core.snapshot import LineKind
from orders import order_data

MAX_QUANTITY = 1_000_000
Text = fields.String


# -- the oracle: the schemas core/schemas.py had before the plain reader ----------------------

class BuyerSchema(StrictSchema):
    company = optional_text()
    legal_form = optional_text(64)
    vat_id = optional_text(32)
    first_name = optional_text()
    last_name = optional_text()
    email = fields.Email(required=True, validate=validate.Length(max=254))
    street = text_field(required=True)
    address_2 = optional_text()
    postcode = text_field(32, required=True)
    city = text_field(required=True)
    country = country_field()
    language = Text(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^[a-z]{2}$", error="must be a lower-case ISO 639-1 code such as de, en, fr"))
    phone = optional_text(64)
    buyer_reference = optional_text(200)


class LineSchema(StrictSchema):
    line_id = text_field(64, required=True)
    kind = fields.Enum(LineKind, by_value=True, load_default=LineKind.PRODUCT)
    sku = optional_text(64)
    name = text_field(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=0, max=MAX_QUANTITY))
    net = MoneyField(required=True)
    tax = MoneyField(required=True)
    gross = MoneyField(required=True)
    tax_rate = MoneyField(required=True)
    shipped = StrictInteger(load_default=None, allow_none=True,
                            validate=validate.Range(min=0, max=MAX_QUANTITY))


class DiscountSchema(StrictSchema):
    code = text_field(64, required=True)
    amount = MoneyField(required=True)


class RefundLineSchema(StrictSchema):
    line_id = text_field(64, required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=0, max=MAX_QUANTITY))
    amount = MoneyField(required=True)
    tax = MoneyField(load_default=None, allow_none=True)


class RefundSchema(StrictSchema):
    refund_id = text_field(64, required=True)
    amount = MoneyField(required=True)
    lines = fields.List(fields.Nested(RefundLineSchema), load_default=None, allow_none=True)
    reason = optional_text(1000)


class OrderSnapshotSchema(StrictSchema):
    shop = text_field(64, required=True)
    order_id = text_field(64, required=True)
    order_number = text_field(64, required=True)
    currency = Text(required=True)
    buyer = fields.Nested(BuyerSchema, required=True)
    lines = fields.List(fields.Nested(LineSchema), required=True,
                        validate=validate.Length(min=1, max=1000))
    total = MoneyField(required=True)
    total_tax = MoneyField(required=True)
    status = text_field(64, required=True)
    ordering_key = fields.AwareDateTime(required=True, default_timezone=UTC)
    discounts = fields.List(fields.Nested(DiscountSchema), load_default=list)
    refunds = fields.List(fields.Nested(RefundSchema), load_default=list)
    cancelled = fields.Boolean(load_default=False)
    returned = fields.Boolean(load_default=False)
    placed_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=UTC)
    installments = StrictInteger(load_default=1, validate=validate.Range(min=1, max=12))


oracle_fields = oracle(OrderSnapshotSchema())


def oracle_load_snapshot(data: Any) -> Any:
    """``load_snapshot`` as it was: the same cross-field rules over the schema's fields."""
    with mock.patch.object(schemas, "_read_snapshot", oracle_fields):
        return load_snapshot(data)


# -- payloads ---------------------------------------------------------------------------------

REFUNDED = order_data(refunds=[
    {"refund_id": "r1", "amount": "53.50", "reason": "damaged",
     "lines": [{"line_id": "2", "quantity": 10, "amount": "53.50", "tax": "3.50"}]},
    {"refund_id": "r2", "amount": "5.00", "lines": None}])
FULL = order_data(
    lines=[{"line_id": "1", "kind": "product", "name": "Chair", "quantity": 2, "sku": None,
            "net": "100.00", "tax": "19.00", "gross": "119.00", "tax_rate": "19",
            "shipped": 1},
           {"line_id": "fee", "kind": "fee", "name": "Rebate", "quantity": 1,
            "net": "-10.00", "tax": "-1.90", "gross": "-11.90", "tax_rate": "19"}],
    total="107.10", total_tax="17.10", cancelled="yes", returned=0, installments=3,
    placed_at="2026-11-01T08:00:00+01:00", discounts=[],
    buyer={"company": "Muster GmbH", "legal_form": None, "vat_id": None, "first_name": None,
           "last_name": None, "email": "a@b.example", "street": "Weg 1", "address_2": "Hof",
           "postcode": "10115", "city": "Berlin", "country": "DE", "language": "de",
           "phone": "030 1", "buyer_reference": "04011000-12345-67"})
BASES = [order_data(), REFUNDED, FULL, dump_snapshot(load_snapshot(REFUNDED)),
         dump_snapshot(load_snapshot(FULL))]


def same(data: Any) -> None:
    assert outcome(schemas._read_snapshot, data) == outcome(oracle_fields, data)
    assert outcome(load_snapshot, data) == outcome(oracle_load_snapshot, data)


# -- the comparisons --------------------------------------------------------------------------

@pytest.mark.parametrize("data", BASES)
def test_the_valid_payloads_read_the_same(data):
    same(data)
    assert load_snapshot(data) == oracle_load_snapshot(data)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(BASES).flatmap(changed))
@example({**order_data(), "installments": True})
@example({**order_data(), "installments": 1.0})
@example({**order_data(), "shop": "x" * 65, "colour": "red", "_schema": 1})
@example({**order_data(), "total": 549.73, "buyer": None, "lines": []})
@example({**order_data(), "lines": [None, 5, {"line_id": "1", "quantity": False}]})
@example({**order_data(), "ordering_key": datetime(2026, 11, 2), "cancelled": Decimal(1)})
@example({**order_data(), "refunds": [{"refund_id": "r", "amount": "1", "lines": [
    {"line_id": "1", "quantity": -1, "amount": "1.234", "tax": 1, "x": 2}]}]})
@example({**REFUNDED, "buyer": {**REFUNDED["buyer"], "email": "x@" + "a" * 260 + ".de",
                                "country": "DE\n", "language": "EN", "": 1}})
def test_changed_payloads_read_the_same(data):
    same(data)


test_each_field_with_edge_values_reads_the_same, test_arbitrary_json_reads_the_same = \
    edge_and_json_tests(same, BASES, ["shop", "currency", "buyer", "lines", "total",
                                      "ordering_key", "refunds", "cancelled", "placed_at",
                                      "installments", "discounts"])


def test_a_snapshot_dumps_as_it_did():
    snapshot = load_snapshot(FULL)
    assert dump_snapshot(snapshot)["buyer"] == BuyerSchema().dump(snapshot.buyer)
    assert list(dump_snapshot(snapshot)["buyer"]) == list(BuyerSchema().dump(snapshot.buyer))
