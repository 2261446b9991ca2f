"""The kit's small error hierarchy; the receiver maps each class to one HTTP status."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ConfigurationError",
    "IdempotencyConflict",
    "InvoicekitError",
    "MalformedPayload",
    "NotFound",
    "OutcomeUnknown",
    "PayloadError",
    "PermanentError",
    "RetryableError",
    "SignatureError",
    "Unauthenticated",
    "UnreadableFile",
    "describe",
]


class InvoicekitError(Exception):
    """Base class of every error the kit raises on purpose."""


class SignatureError(InvoicekitError):
    """A delivery's signature is missing, malformed or wrong (HTTP 401)."""


class Unauthenticated(InvoicekitError):
    """An API request without a valid API key (HTTP 401)."""


class MalformedPayload(InvoicekitError):
    """A body that cannot be read at all: not JSON, not UTF-8, not an object (HTTP 400)."""


class PayloadError(InvoicekitError):
    """Input failed validation (HTTP 422). ``field_errors`` maps dotted field names to messages.

    Messages name the field and the rule; they never repeat the rejected value.
    """

    def __init__(self, field_errors: Mapping[str, list[str]], message: str = "invalid input"):
        self.field_errors = {name: list(msgs) for name, msgs in sorted(field_errors.items())}
        fields = ", ".join(self.field_errors)
        super().__init__(f"{message}: {fields}" if fields else message)


class NotFound(InvoicekitError):
    """An object named in a request does not exist (HTTP 404)."""


class IdempotencyConflict(InvoicekitError):
    """An idempotency key was reused for a different operation (HTTP 409)."""


class RetryableError(InvoicekitError):
    """A transient failure (timeout, 5xx, lock): try again later with the same key (HTTP 503).

    ``retry_after`` is the wait in seconds the far side asked for (``Retry-After``), if any;
    the next attempt waits at least that long.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OutcomeUnknown(RetryableError):
    """The request may have been applied (a read timeout, a 502 after sending): before the
    call is repeated, the provider's state must be read and the call repeated only when the
    effect is absent, unless the provider honours idempotency keys."""


class PermanentError(InvoicekitError):
    """A failure that retrying cannot fix; the operation ends dead with this reason."""


class UnreadableFile(InvoicekitError):
    """A file handed to the kit (a bank statement) is malformed, truncated, unsafe or of an
    unknown kind; nothing of it is used."""


class ConfigurationError(InvoicekitError):
    """The kit or a plugin is configured wrongly (unknown provider, missing merchant data)."""


def describe(exc: BaseException) -> str:
    """A reason for an unexpected failure that is safe to store and show to the merchant.

    Database errors are named by class only: their messages can quote buyer data (a unique
    key's values in PostgreSQL's detail line, the statement and its parameters).
    """
    orig = getattr(exc, "orig", None)
    if orig is not None and type(exc).__module__.startswith("sqlalchemy"):
        return f"database error {type(exc).__name__} ({type(orig).__name__})"
    return f"{type(exc).__name__}: {exc}"
