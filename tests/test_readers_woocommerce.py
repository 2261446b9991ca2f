"""The WooCommerce order's plain reader (``plugins.woocommerce.order.read_order``) against the
marshmallow schema it replaced, kept here as the oracle: on recorded and generated orders,
valid and not, both give the same fields, or the same errors under the same paths."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE, Schema, fields, validate
from readers_fuzz import changed, edge_and_json_tests, oracle, outcome

from core.errors import PayloadError
from plugins.woocommerce.order import read_order, to_snapshot
from recordings import RECORDINGS_DIR, deliveries
from woo import order

# -- the oracle: the schema plugins/woocommerce/order.py had before the plain reader ----------


class _Loose(Schema):
    class Meta:
        unknown = EXCLUDE


def _text(**kwargs: Any) -> fields.String:
    return fields.String(load_default="", allow_none=True, **kwargs)


class _Tax(_Loose):
    id = fields.Integer(required=True)
    total = fields.Raw(load_default="0")


class _Meta(_Loose):
    key = fields.String(required=True)
    value = fields.Raw(allow_none=True)


class _Billing(_Loose):
    company = _text()
    first_name = _text()
    last_name = _text()
    address_1 = _text()
    address_2 = _text()
    city = _text()
    postcode = _text()
    country = _text()
    email = _text()
    phone = _text()


class _Taxed(_Loose):
    id = fields.Integer(required=True, strict=True)
    total = fields.String(required=True)
    total_tax = fields.String(required=True)
    taxes = fields.List(fields.Nested(_Tax), load_default=list)


class _Line(_Taxed):
    name = _text()
    sku = _text()
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class _Shipping(_Taxed):
    method_title = _text()


class _Fee(_Taxed):
    name = _text()


class _Coupon(_Loose):
    code = fields.String(required=True)
    discount = fields.String(required=True)
    discount_tax = fields.String(load_default="0")


class _Refund(_Loose):
    id = fields.Integer(required=True, strict=True)
    reason = _text()
    total = fields.String(required=True)


class _TaxLine(_Loose):
    rate_id = fields.Integer(required=True)
    rate_percent = fields.Raw(load_default=None)
    shipping_tax_total = fields.Raw(load_default=None)


class WooOrderSchema(_Loose):
    id = fields.Integer(required=True, strict=True)
    number = fields.String(required=True)
    status = fields.String(required=True)
    currency = fields.String(required=True)
    payment_method = _text()
    date_created_gmt = fields.NaiveDateTime(load_default=None, allow_none=True)
    date_modified_gmt = fields.NaiveDateTime(required=True)
    total = fields.String(required=True)
    total_tax = fields.String(required=True)
    shipping_total = fields.Raw(load_default=None)
    shipping_tax = fields.Raw(load_default=None)
    billing = fields.Nested(_Billing, required=True)
    line_items = fields.List(fields.Nested(_Line), required=True)
    shipping_lines = fields.List(fields.Nested(_Shipping), load_default=list)
    fee_lines = fields.List(fields.Nested(_Fee), load_default=list)
    coupon_lines = fields.List(fields.Nested(_Coupon), load_default=list)
    refunds = fields.List(fields.Nested(_Refund), load_default=list)
    tax_lines = fields.List(fields.Nested(_TaxLine), load_default=list)
    meta_data = fields.List(fields.Nested(_Meta), load_default=list)


oracle_read_order = oracle(WooOrderSchema())


# -- payloads: every order WooCommerce sent in the recordings, and the tests' own -------------

def _recorded() -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(RECORDINGS_DIR.glob("*.json")):
        steps = json.loads(path.read_text(encoding="utf-8"))["steps"]
        for _, body in deliveries(steps):
            if body.startswith(b"{"):
                found.setdefault(body.decode(), json.loads(body, parse_float=Decimal))
    return list(found.values())


RECORDED = _recorded()
BASES = [order(), order(status="completed"), *RECORDED]


def same(data: Any) -> None:
    assert outcome(read_order, data) == outcome(oracle_read_order, data)


# -- the comparisons --------------------------------------------------------------------------

def test_there_are_recorded_orders_to_compare():
    assert len(RECORDED) >= 24


@pytest.mark.parametrize("data", BASES, ids=range(len(BASES)))
def test_the_valid_orders_read_the_same(data):
    same(data)
    read = read_order(data)
    assert read == oracle_read_order(data)
    try:
        snapshot = to_snapshot(read, "acme", {})
    except PayloadError as exc:
        with pytest.raises(PayloadError) as before:
            to_snapshot(oracle_read_order(data), "acme", {})
        assert before.value.field_errors == exc.field_errors
    else:
        assert snapshot == to_snapshot(oracle_read_order(data), "acme", {})


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(BASES).flatmap(changed))
@example({**order(), "id": True, "line_items": [{"id": 1.0, "quantity": -1}]})
@example({**order(), "id": "4711", "billing": None, "line_items": None})
@example({**order(), "billing": [], "refunds": [None, 5, {"id": False, "total": -1}]})
@example({**order(), "tax_lines": [{"rate_id": "7"}, {"rate_id": True}, {"rate_id": 1.9},
                                   {"rate_id": Decimal("Infinity")}, {"rate_id": "1_0"}]})
@example({**order(), "date_modified_gmt": "2026-11-02T09:00:00+00:00",
          "date_created_gmt": 5, "meta_data": [{"key": "k"}, {"value": 1}]})
@example({**order(), "line_items": [{"id": 1, "total": "1", "total_tax": "0",
                                     "quantity": 1, "taxes": [{"id": 1, "total": None}]}]})
def test_changed_orders_read_the_same(data):
    same(data)


test_each_field_with_edge_values_reads_the_same, test_arbitrary_json_reads_the_same = \
    edge_and_json_tests(same, BASES, [
        "id", "number", "currency", "payment_method", "date_created_gmt", "date_modified_gmt",
        "total", "shipping_total", "billing", "line_items", "shipping_lines", "fee_lines",
        "coupon_lines", "refunds", "tax_lines", "meta_data"])
