"""What the remote provider plugins (Billie, Mondu) share: reading their merchant settings,
telling from an HTTP request's failure or answer what it means for the request, reading
their answers, parts of their request bodies, and checking their order amount.

Each provider keeps what differs (its JSON, its error bodies, its codes and references);
these are the parts that mean the same at both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from core.context import OrderContext
from core.errors import ConfigurationError, OutcomeUnknown, PermanentError, RetryableError
from core.money import money_text
from core.operations import Operation, OperationKind, OperationLine
from core.retry import retry_after

__all__ = ["NO_INVOICE_URL", "TRY_LATER", "UnreadableAnswer", "amount_changed", "answer",
           "article_units", "credit_comment", "expected_amounts",
           "invoice_url", "not_connected", "read_answer",
           "read_only", "setting_flag", "setting_seconds", "setting_text", "transport_error"]

T = TypeVar("T")
CONFIGURE = "invoicekit merchants configure"
MAX_SECONDS = 300
TRY_LATER = frozenset({408, 429, 503})  # not taken in: safe to send again
NO_INVOICE_URL = "."  # what Billie's own plugins send without a document; Mondu requires one
_COMMENTS = {
    OperationKind.FULL_CREDIT: "Cancellation",
    OperationKind.PARTIAL_CREDIT: "Partial credit",
    OperationKind.DISCOUNT_TRANSFER: "Discount",
    OperationKind.RETURN: "Return",
}


def setting_text(settings: Mapping[str, Any], key: str, provider: str, *,
                 required: bool = False, how: str = CONFIGURE) -> str | None:
    """The text setting ``key`` stripped; ``None`` when absent or blank (an error naming
    ``how`` to set it when ``required``)."""
    value = settings.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigurationError(f"{provider} setting {key} is missing; set it with {how}")
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{provider} setting {key} must be text")
    return value.strip()


def setting_flag(settings: Mapping[str, Any], key: str, provider: str, *,
                 default: bool) -> bool:
    """A yes/no setting: a JSON boolean, or ``true``/``yes``/``1``, ``false``/``no``/``0``."""
    value = settings.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no",
                                                            "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise ConfigurationError(f"{provider} setting {key} must be true or false")


def setting_seconds(settings: Mapping[str, Any], key: str, provider: str,
                    default: float) -> float:
    """A number of seconds above 0 and at most 300 (a timeout)."""
    value = settings.get(key, default)
    try:
        seconds = float(value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= MAX_SECONDS:
        raise ConfigurationError(f"{provider} setting {key} must be a number of seconds "
                                 f"above 0 and at most {MAX_SECONDS}")
    return seconds


def transport_error(what: str, provider: str, exc: requests.RequestException) -> Exception:
    """The kit's error for a request ``what`` to ``provider`` that got no answer: was it
    sent? Refused or timed-out connections and TLS handshakes were not (retryable); a read
    timeout or a dropped connection may have been applied (outcome unknown)."""
    if isinstance(exc, requests.exceptions.InvalidURL):
        return ConfigurationError(f"{what}: the {provider} base URL is not valid")
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError
                  | requests.exceptions.ProxyError):
        return RetryableError(f"{what} not sent ({type(exc).__name__})")
    if isinstance(exc, requests.ConnectionError) and not_connected(exc):
        return RetryableError(f"{what} not sent: connection refused or host unknown")
    return OutcomeUnknown(f"{what} may have been applied: {type(exc).__name__} after sending; "
                          f"{provider}'s state is read before it is repeated")


def not_connected(exc: requests.ConnectionError) -> bool:
    """True when the connection was never made (refused, DNS), from urllib3's reason."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError):
            return True
        pending.extend([getattr(error, "reason", None), error.__cause__, error.__context__,
                        *(a for a in getattr(error, "args", ()) if isinstance(a, BaseException))])
    return False


# -- answers ----------------------------------------------------------------------------


class UnreadableAnswer(ValueError):
    """A provider's answer without a field the plugin needs."""


def answer(what: str, response: requests.Response, *, provider: str,
           loads: Callable[[bytes], Any], errors: Callable[[requests.Response], str],
           not_found: type[PermanentError]) -> Any:
    """The JSON (``loads``) of ``provider``'s answer to request ``what``, ``None`` when
    empty; else the kit's error: 408/429/503 retryable (with ``Retry-After``), 5xx or an
    unreadable 2xx maybe applied, 404 ``not_found``, any other status refused, with the
    provider's ``errors`` detail."""
    status = response.status_code
    if 200 <= status < 300:
        if not response.content.strip():
            return None
        try:
            return loads(response.content)
        except ValueError:
            raise OutcomeUnknown(f"{what} answered {status} with a body that is not "
                                 "JSON") from None
    wait = retry_after(response.headers.get("Retry-After"))
    if status in TRY_LATER:
        raise RetryableError(f"{provider} asked to try later ({status})", retry_after=wait)
    if status >= 500:
        raise OutcomeUnknown(f"{what} failed with {status}; it may have been applied",
                             retry_after=wait)
    message = f"{provider} refused the request ({status})"
    detail = errors(response)
    if detail:
        message = f"{message}: {detail}"
    if status == 404:
        raise not_found(message)
    raise PermanentError(message)


def read_only(call: Callable[[], T]) -> T:
    """``call()``, a read (``GET``): it has no effect, so a failure is only retryable."""
    try:
        return call()
    except OutcomeUnknown as exc:
        raise RetryableError(str(exc), retry_after=exc.retry_after) from None


def read_answer(reader: Callable[[], T], *, posted: bool, provider: str) -> T:
    """``reader()``; an unreadable answer is retryable, or after a write (``posted``) maybe
    applied."""
    try:
        return reader()
    except UnreadableAnswer as exc:
        if posted:
            raise OutcomeUnknown(f"{provider}'s answer could not be read ({exc})") from None
        raise RetryableError(f"{provider}'s answer could not be read ({exc})") from None


# -- request bodies ---------------------------------------------------------------------


def article_units(lines: Iterable[OperationLine]) -> dict[str, int]:
    """The article units an operation covers, by the shop's line id."""
    units: dict[str, int] = {}
    for line in lines:
        if line.article and line.quantity > 0:
            units[line.line_id] = units.get(line.line_id, 0) + line.quantity
    return units


def invoice_url(template: str | None, number: str, order_number: str) -> str:
    """The invoice document's URL from the merchant's template, or ``"."`` without one."""
    if not template:
        return NO_INVOICE_URL
    return (template.replace("{number}", quote(number, safe=""))
            .replace("{order}", quote(order_number, safe="")))


def credit_comment(operation: Operation) -> str:
    """What a credit note says: ``Return (<source>)`` and the like."""
    return f"{_COMMENTS.get(operation.kind, 'Credit')} ({operation.source})"


# -- order amounts ----------------------------------------------------------------------


def expected_amounts(order: OrderContext) -> tuple[int, ...]:
    """The order amounts the provider may show before an operation, by the kit's ledger:
    the authorisation less earlier reductions, and that less credit notes too (neither
    provider documents whether credit notes lower its order amount)."""
    before = order.state.authorised - order.state.reduced
    return tuple(dict.fromkeys((before, before - order.state.credited)))


def amount_changed(order: OrderContext, change: int, current: int, *, provider: str,
                   what: str = "change") -> bool:
    """Whether ``provider``'s order amount ``current`` is the one before (False) or after
    (True) a change of it by ``change``; :class:`PermanentError` when it is neither, or
    could be either."""
    currency = order.snapshot.currency
    candidates = expected_amounts(order)
    before = current in candidates
    after = current in {c + change for c in candidates}
    if before and after:
        raise PermanentError(f"{provider}'s order amount does not tell whether the {what} "
                             f"was made: check the order in {provider}'s portal, then retry")
    if not (before or after):
        raise PermanentError(
            f"{provider}'s order amount is {money_text(current, currency)}, the kit expected "
            f"{money_text(candidates[0], currency)}: check the order in {provider}'s portal, "
            "then retry the operation")
    return after
