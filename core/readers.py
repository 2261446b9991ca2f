"""Plain-Python readers for the hot paths' payloads: a delivery's order and a stored snapshot.

They accept, produce and refuse what the marshmallow schemas they replaced did (the tests
keep those schemas as an oracle, ``tests/test_readers_*.py``), with the same messages under
the same dotted paths as :func:`core.schemas.flatten_errors` gave, for a tenth of the CPU:
no field objects, error stores or nested dicts of messages are built for a valid payload.

A reader is built once from field specs (:func:`value`, :func:`nested`, :func:`listed`,
:func:`record`) and called as ``read(data)``; it raises :class:`~core.errors.PayloadError`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core.errors import PayloadError
from core.money import parse_decimal

__all__ = ["MISSING", "Field", "Invalid", "aware_datetime", "boolean", "integer", "join",
           "length", "listed", "money", "naive_datetime", "nested", "no_bool_integer", "raw",
           "reader", "record", "strict_integer", "string", "value", "within"]

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()

REQUIRED = "Missing data for required field."
NULL = "Field may not be null."
NOT_A_STRING = "Not a valid string."
NOT_UTF8 = "Not a valid utf-8 string."
NOT_AN_INTEGER = "Not a valid integer."
TOO_LARGE = "Number too large."
NOT_A_BOOLEAN = "Not a valid boolean."
NOT_A_DATETIME = "Not a valid datetime."
NOT_A_LIST = "Not a valid list."
NOT_AN_OBJECT = "Invalid input type."
UNKNOWN = "Unknown field."
NOT_A_BOOL_INTEGER = "must be an integer, not a boolean"

TRUTHY = frozenset({"t", "T", "true", "True", "TRUE", "on", "On", "ON", "y", "Y", "yes",
                    "Yes", "YES", "1", 1})
FALSY = frozenset({"f", "F", "false", "False", "FALSE", "off", "Off", "OFF", "n", "N", "no",
                   "No", "NO", "0", 0})

Errors = dict[str, list[str]]
Convert = Callable[[Any], Any]
Check = Callable[[Any], "str | None"]
# a field as its object reads it: (value, the field's path, the errors) → value read
Field = Callable[[Any, str, Errors], Any]


class Invalid(Exception):
    """A field's value is refused: ``messages`` for the field itself, or ``None`` when what
    was refused inside it is already recorded under longer paths."""

    def __init__(self, messages: list[str] | None) -> None:
        super().__init__(messages)
        self.messages = messages


def join(prefix: str, key: object) -> str:
    """The dotted path of ``key`` under ``prefix`` (``_schema`` names the object itself)."""
    name = str(key) if key != "_schema" else ""
    return f"{prefix}.{name}" if prefix and name else prefix or name or "_schema"


# -- converters: a JSON value to the field's value, or Invalid -------------------------------

def string(value: Any) -> str:
    """A text (bytes are read as UTF-8)."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid([NOT_UTF8]) from None
    raise Invalid([NOT_A_STRING])


def _to_int(value: Any) -> int:
    if value is True or value is False:
        raise Invalid([NOT_AN_INTEGER])
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid([NOT_AN_INTEGER]) from None
    except OverflowError:
        raise Invalid([TOO_LARGE]) from None


def integer(value: Any) -> int:
    """Anything ``int()`` takes but a boolean (``"12"``, ``12.7`` → 12)."""
    return value if type(value) is int else _to_int(value)


def strict_integer(value: Any) -> int:
    """An integral number; booleans, strings and floats are refused alike."""
    if type(value) is int:
        return value
    if not isinstance(value, numbers.Integral):
        raise Invalid([NOT_AN_INTEGER])
    return _to_int(value)


def no_bool_integer(value: Any) -> int:
    """An integral number; a boolean is refused with a message of its own."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise Invalid([NOT_A_BOOL_INTEGER])
    return strict_integer(value)


def money(value: Any) -> Any:
    """A decimal string or ``Decimal`` (:func:`core.money.parse_decimal`)."""
    try:
        return parse_decimal(value)
    except ValueError as exc:
        raise Invalid([str(exc)]) from None


def boolean(value: Any) -> bool:
    """``true``/``false`` and the usual words and digits for them."""
    try:
        if value in TRUTHY:
            return True
        if value in FALSY:
            return False
    except TypeError:
        pass
    raise Invalid([NOT_A_BOOLEAN])


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except (TypeError, AttributeError, ValueError):
        raise Invalid([NOT_A_DATETIME]) from None


def _aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.tzinfo.utcoffset(moment) is not None


def aware_datetime(value: Any) -> datetime:
    """An ISO 8601 date and time; one without an offset is taken as UTC."""
    moment = _datetime(value)
    return moment if _aware(moment) else moment.replace(tzinfo=UTC)


def naive_datetime(value: Any) -> datetime:
    """An ISO 8601 date and time without an offset."""
    moment = _datetime(value)
    if _aware(moment):
        raise Invalid(["Not a valid naive datetime."])
    return moment


def raw(value: Any) -> Any:
    """The value as it is."""
    return value


# -- checks on a converted value: a message, or None -----------------------------------------

def length(minimum: int | None = None, maximum: int | None = None) -> Check:
    """At least ``minimum`` and at most ``maximum`` characters or items."""
    if minimum is not None and maximum is not None:
        short = long = f"Length must be between {minimum} and {maximum}."
    else:
        short, long = f"Shorter than minimum length {minimum}.", \
            f"Longer than maximum length {maximum}."

    def check(value: Any) -> str | None:
        size = len(value)
        if minimum is not None and size < minimum:
            return short
        if maximum is not None and size > maximum:
            return long
        return None
    return check


def within(minimum: int | None = None, maximum: int | None = None) -> Check:
    """A number from ``minimum`` to ``maximum`` inclusive."""
    if minimum is not None and maximum is not None:
        low = high = (f"Must be greater than or equal to {minimum} and less than or equal "
                      f"to {maximum}.")
    else:
        low = f"Must be greater than or equal to {minimum}."
        high = f"Must be less than or equal to {maximum}."

    def check(value: Any) -> str | None:
        if minimum is not None and value < minimum:
            return low
        if maximum is not None and value > maximum:
            return high
        return None
    return check


# -- fields ----------------------------------------------------------------------------------

def _field(convert: Callable[..., Any], required: bool, default: Any,
           factory: Callable[[], Any] | None, nullable: bool, checks: Sequence[Check],
           *, inner: bool) -> Field:
    """The common part of every field: missing, null, converted, then checked. ``inner``
    converters are given the field's path and the errors (objects, lists)."""
    checks = tuple(checks)
    only = checks[0] if len(checks) == 1 else None

    def read(data: Any, path: str, errors: Errors) -> Any:
        if data is MISSING:
            if required:
                raise Invalid([REQUIRED])
            return factory() if factory is not None else default
        if data is None:
            if nullable:
                return None
            raise Invalid([NULL])
        result = convert(data, path, errors) if inner else convert(data)
        if only is not None:
            if (message := only(result)) is not None:
                raise Invalid([message])
        elif checks:
            messages = [message for check in checks if (message := check(result)) is not None]
            if messages:
                raise Invalid(messages)
        return result
    return read


def value(convert: Convert, *, required: bool = False, default: Any = MISSING,
          factory: Callable[[], Any] | None = None, nullable: bool = False,
          checks: Sequence[Check] = ()) -> Field:
    """A field of one value: missing it is an error (``required``), ``default`` or
    ``factory()``, or left out of the result; null only where ``nullable``; then each of
    ``checks`` runs and every message is kept."""
    return _field(convert, required, default, factory, nullable, checks, inner=False)


def nested(fields: Sequence[tuple[str, Field]], *, strict: bool, required: bool = False,
           nullable: bool = False) -> Field:
    """A field holding an object (see :func:`record`)."""
    return _field(record(fields, strict=strict), required, MISSING, None, nullable, (),
                  inner=True)


def listed(item: Field, *, required: bool = False, default: Any = MISSING,
           factory: Callable[[], Any] | None = None, nullable: bool = False,
           checks: Sequence[Check] = ()) -> Field:
    """A field holding a list of ``item``; ``checks`` run once every item was read."""

    def convert(data: Any, path: str, errors: Errors) -> list[Any]:
        if type(data) is not list and (not hasattr(data, "__iter__") or hasattr(data, "strip")
                                       or isinstance(data, Mapping)):
            raise Invalid([NOT_A_LIST])
        items: list[Any] = []
        refused = False
        for index, each in enumerate(data):
            where = f"{path}.{index}"
            try:
                items.append(item(each, where, errors))
            except Invalid as exc:
                refused = True
                if exc.messages is not None:
                    errors[where] = exc.messages
        if refused:
            raise Invalid(None)
        return items
    return _field(convert, required, default, factory, nullable, checks, inner=True)


def record(fields: Sequence[tuple[str, Field]], *,
           strict: bool) -> Callable[[Any, str, Errors], dict[str, Any]]:
    """An object's fields, in order, into a dict (a field left out stays out); with
    ``strict`` a key it does not know is refused. Errors are recorded under the field's path."""
    known = frozenset(name for name, _ in fields)
    fields = tuple(fields)

    def read(data: Any, path: str, errors: Errors) -> dict[str, Any]:
        if type(data) is not dict and not isinstance(data, Mapping):
            raise Invalid([NOT_AN_OBJECT])
        result: dict[str, Any] = {}
        refused = False
        for name, field in fields:
            try:
                got = field(data.get(name, MISSING), f"{path}.{name}" if path else name, errors)
            except Invalid as exc:
                refused = True
                if exc.messages is not None:
                    errors[join(path, name)] = exc.messages
                continue
            if got is not MISSING:
                result[name] = got
        if strict:
            for key in set(data) - known:
                refused = True
                errors[join(path, key)] = [UNKNOWN]
        if refused:
            raise Invalid(None)
        return result
    return read


def reader(fields: Sequence[tuple[str, Field]], *,
           strict: bool) -> Callable[[Any], dict[str, Any]]:
    """The top-level reader of an object: its dict, or :class:`PayloadError` naming every
    refused field."""
    read_record = record(fields, strict=strict)

    def read(data: Any) -> dict[str, Any]:
        errors: Errors = {}
        try:
            return read_record(data, "", errors)
        except Invalid as exc:
            if exc.messages is not None:
                errors["_schema"] = exc.messages
            raise PayloadError(errors) from None
    return read
