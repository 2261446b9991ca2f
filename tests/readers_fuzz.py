"""Payloads for comparing a plain reader with the marshmallow schema it replaced: a valid
payload changed in a few random places (a value swapped for a wrong one, a key removed, an
unknown key added, a list item dropped or doubled), and arbitrary JSON."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from core.errors import PayloadError
from core.schemas import flatten_errors

# values that sit on the rules' edges: types, lengths, money texts, dates, codes, booleans
EDGE_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 12, 13, 1_000_000, 1_000_001, 10 ** 30, 1.0, 1.5, -0.0,
    float("nan"), float("inf"), Decimal("1.5"), Decimal("2"), Decimal("-3.000"),
    Decimal("NaN"), Decimal("Infinity"), "", " ", "x", "x" * 32, "x" * 33, "x" * 64, "x" * 65,
    "x" * 200, "x" * 201, "x" * 255, "x" * 256, "é" * 300, "x" * 1001, "12.34", "12.345",
    "-1.00", "-0.01", "0", "0.00", "1", "1e3", "1_000", " 12 ", "+5", "12.", ".5", "abc", "NaN",
    "Infinity", "DE", "de", "DE\n", "D", "DEU", "en", "EN", "product", "fee", "shipping",
    "PRODUCT", "yes", "no", "true", "t", "off", "Y", "2026-11-02T09:00:00",
    "2026-11-02T09:00:00+02:00", "2026-11-02T09:00:00Z", "2026-11-02", "not a date",
    "2026-13-01T00:00:00", "a@b.example", "not-an-email", "a@localhost", "@example.com",
    "x@" + "a" * 250 + ".de", b"bytes", b"\xff", "EUR", "JPY", "XXX", "eur", "19", "7.5", [],
    {}, [None], [{}], [1, 2], {"a": 1}, (), ("a",), "_schema",
]
UNKNOWN_KEYS = st.sampled_from(["extra", "_schema", "", "Id", "lines.0.gross", "buyer.email",
                                "meta"]) | st.text(max_size=3)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2_000_000) | st.text(max_size=6)
    | st.decimals(places=3, allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8)
edge_values = st.sampled_from(EDGE_VALUES) | json_values


def _places(data: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) in ``data``."""
    if isinstance(data, dict):
        for key, child in data.items():
            yield data, key
            yield from _places(child)
    elif isinstance(data, list):
        for index, child in enumerate(data):
            yield data, index
            yield from _places(child)


def _leaves(data: Any) -> list[Any]:
    return [container[key] for container, key in _places(data)
            if not isinstance(container[key], dict | list)]


@st.composite
def changed(draw: st.DrawFn, base: Any, changes: int = 4) -> Any:
    """``base`` (deep-copied) with up to ``changes`` random changes."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, changes))):
        places = list(_places(data))
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["value", "value", "value", "leaf", "remove", "unknown",
                                       "double"]))
        if action == "value":  # (copied: an edge value is never changed in place)
            container[key] = copy.deepcopy(draw(edge_values))
        elif action == "leaf":  # another field's value: often right in type, wrong in place
            container[key] = copy.deepcopy(draw(st.sampled_from(_leaves(data) or [None])))
        elif action == "remove":
            del container[key]
        elif action == "unknown":
            target = container[key] if isinstance(container[key], dict) else container
            if isinstance(target, dict):
                target[draw(UNKNOWN_KEYS)] = copy.deepcopy(draw(edge_values))
        elif isinstance(container, list):
            container.insert(key, copy.deepcopy(container[key]))
    return data


def outcome(read: Callable[[Any], Any], data: Any) -> tuple[str, Any]:
    """What ``read`` made of ``data``: ``("ok", result)`` or ``("refused", field_errors)``;
    the result also as its repr, so 1 and True, or 1.0 and 1.00, are told apart."""
    try:
        result = read(data)
    except PayloadError as exc:
        return "refused", list(exc.field_errors.items())
    return "ok", (result, repr(result))


def edge_and_json_tests(same: Callable[[Any], None], bases: list[dict[str, Any]],
                        names: list[str]) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two property tests every reader runs against its schema: one top-level field of
    a valid payload (``names``) set to an edge value, and arbitrary JSON as the payload."""

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(bases), st.sampled_from(names), edge_values)
    def each_field(base: dict[str, Any], name: str, value: Any) -> None:
        data = copy.deepcopy(base)
        data[name] = copy.deepcopy(value)
        same(data)

    @settings(max_examples=200, deadline=None)
    @given(json_values)
    def arbitrary(data: Any) -> None:
        same(data)

    return each_field, arbitrary


def oracle(schema: Any) -> Callable[[Any], dict[str, Any]]:
    """The old marshmallow ``schema``'s load as the readers' callers saw it: its fields, or
    :class:`PayloadError` with the errors flattened to field paths."""

    def load(data: Any) -> dict[str, Any]:
        try:
            return schema.load(data)
        except ValidationError as exc:
            raise PayloadError(flatten_errors(exc.messages)) from None

    return load
