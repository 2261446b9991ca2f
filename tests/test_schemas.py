"""Snapshot validation at the edge: bad input is refused with errors naming the field."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import PayloadError
from core.schemas import dump_snapshot, load_snapshot
from orders import order_data


def errors_of(data) -> dict[str, list[str]]:
    with pytest.raises(PayloadError) as info:
        load_snapshot(data)
    return info.value.field_errors


def with_line(data, index=0, **changes):
    data = copy.deepcopy(data)
    data["lines"][index].update(changes)
    return data


def test_valid_order_loads_with_minor_units():
    snapshot = load_snapshot(order_data())
    assert snapshot.total == 549_73 and snapshot.total_tax == 82_73
    assert snapshot.lines[0].gross == 357_00
    assert snapshot.discount_total == 10_00


def test_missing_currency_is_named():
    data = order_data()
    del data["currency"]
    assert "currency" in errors_of(data)


@pytest.mark.parametrize("code", ["XYZ", "eur", "EURO", ""])
def test_unknown_currency_is_refused(code):
    assert "currency" in errors_of(order_data(currency=code))


def test_negative_quantity_is_refused():
    assert "lines.0.quantity" in errors_of(with_line(order_data(), quantity=-1))


@pytest.mark.parametrize("quantity", ["3", True, 2.0, 10**30])
def test_quantity_must_be_a_plain_integer(quantity):
    assert "lines.0.quantity" in errors_of(with_line(order_data(), quantity=quantity))


def test_shipped_units_are_optional_and_read_per_line():
    snapshot = load_snapshot(with_line(order_data(), shipped=1))
    assert [line.shipped for line in snapshot.lines] == [1, None, None, None, None]
    assert load_snapshot(dump_snapshot(snapshot)) == snapshot


@pytest.mark.parametrize(("shipped", "message"), [
    (3, "must not exceed the quantity"), (-1, "Must be greater than or equal to 0"),
    ("1", "Not a valid integer."), (True, "must be an integer, not a boolean"),
    (1.0, "Not a valid integer."),
])
def test_shipped_must_be_an_integer_up_to_the_quantity(shipped, message):
    errors = errors_of(with_line(order_data(), shipped=shipped))
    assert any(message in m for m in errors["lines.0.shipped"]), errors


@pytest.mark.parametrize("amount", [357.0, 35700, "1e309", "NaN", "3,57", None])
def test_float_and_integer_amounts_are_refused(amount):
    assert "lines.0.gross" in errors_of(with_line(order_data(), gross=amount))


def test_float_total_is_refused_with_a_clear_message():
    errors = errors_of(order_data(total=549.73))
    assert errors["total"] == ['must be a decimal string such as "12.34", not a JSON number']


def test_more_decimals_than_the_currency_has_are_refused():
    errors = errors_of(with_line(order_data(), net="300.001", gross="357.001"))
    assert "lines.0.net" in errors and "lines.0.gross" in errors


def test_zero_decimal_currency():
    data = order_data(currency="JPY")
    assert "lines.1.tax" in errors_of(data)  # 3.50 has decimals JPY does not have
    ok = order_data(currency="JPY", lines=[("1", "product", "Tea", 2, "1000", "10")])
    assert load_snapshot(ok).total == 1100


def test_line_must_add_up():
    assert "lines.0.gross" in errors_of(with_line(order_data(), gross="358.00"))


def test_lines_not_adding_up_to_the_total_beyond_rounding():
    assert "total" in errors_of(order_data(total="549.80"))
    assert load_snapshot(order_data(total="549.74")).total == 549_74  # one cent: rounding


def test_negative_amount_only_on_fee_lines():
    data = with_line(order_data(), net="-300.00", tax="-57.00", gross="-357.00")
    data["total"] = "-164.27"
    errors = errors_of(data)
    assert "lines.0.net" in errors and "total" in errors
    fee = [("1", "product", "Chair", 1, "100.00", "19"), ("f", "fee", "Rebate", 1, "-5.00", "19")]
    assert load_snapshot(order_data(lines=fee)).total == 113_05


def test_unknown_fields_are_refused():
    assert "colour" in errors_of(order_data(colour="red"))
    assert "lines.0.colour" in errors_of(with_line(order_data(), colour="red"))


def test_refund_naming_an_unknown_line_is_refused():
    refunds = [{"refund_id": "r1", "amount": "10.00",
                "lines": [{"line_id": "nope", "quantity": 1, "amount": "10.00"}]}]
    assert "refunds.0.lines.0.line_id" in errors_of(order_data(refunds=refunds))


def test_a_refund_line_without_units_needs_an_amount():
    refunds = [{"refund_id": "r1", "amount": "10.00",
                "lines": [{"line_id": "1", "quantity": 0, "amount": "0.00"}]}]
    assert "refunds.0.lines.0.amount" in errors_of(order_data(refunds=refunds))
    refunds[0]["lines"][0]["amount"] = "10.00"  # part of the line's price, no units back
    [line] = load_snapshot(order_data(refunds=refunds)).refunds[0].lines
    assert (line.quantity, line.amount) == (0, 10_00)


def test_refunds_above_the_total_are_refused():
    refunds = [{"refund_id": "r1", "amount": "549.74"}]
    assert "refunds" in errors_of(order_data(refunds=refunds))


def test_naive_ordering_key_is_read_as_utc():
    snapshot = load_snapshot(order_data(ordering_key="2026-11-02T09:00:00"))
    assert snapshot.ordering_key.utcoffset().total_seconds() == 0


def test_errors_never_echo_the_rejected_value():
    secret = "sk_live_do_not_echo"
    errors = errors_of(with_line(order_data(), gross=secret, name="x" * 300))
    assert secret not in str(errors) and "x" * 300 not in str(errors)


def test_dump_and_load_round_trip():
    snapshot = load_snapshot(order_data(refunds=[
        {"refund_id": "r1", "amount": "53.50",
         "lines": [{"line_id": "2", "quantity": 10, "amount": "53.50"}]}]))
    assert load_snapshot(dump_snapshot(snapshot)) == snapshot


@given(st.text(max_size=300))
def test_any_name_is_stored_byte_exact_or_refused(name):
    data = with_line(order_data(), name=name)
    try:
        snapshot = load_snapshot(data)
    except PayloadError as exc:
        assert "lines.0.name" in exc.field_errors
    else:
        assert snapshot.lines[0].name == name
