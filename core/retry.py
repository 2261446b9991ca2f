"""When to try again: capped exponential backoff with jitter, honouring ``Retry-After``.

One policy serves every retry in the kit: a delivery whose processing failed, and the
operation that made it fail. ``max_attempts`` is where trying stops: the delivery, or the
operation, is then dead with its reason until the merchant replays or retries it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["DEFAULT_BACKOFF", "MAX_RETRY_AFTER", "Backoff", "retry_after"]


@dataclass(frozen=True)
class Backoff:
    """``base`` seconds, doubling per attempt up to ``cap``; with ``jitter`` each delay is
    drawn from its upper half, so workers that failed together do not return together."""

    base: float = 10.0
    cap: float = 3600.0
    max_attempts: int = 8
    jitter: bool = True
    rnd: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failure; at least ``retry_after``."""
        delay = min(self.base * 2 ** max(attempts - 1, 0), self.cap)
        if self.jitter:
            delay = self.rnd.uniform(delay / 2, delay)
        return max(delay, min(retry_after or 0.0, MAX_RETRY_AFTER))

    def exhausted(self, attempts: int) -> bool:
        """Whether ``attempts`` failed attempts are the last ones allowed."""
        return attempts >= self.max_attempts


# The longest wait a far side's Retry-After can impose; beyond it the kit tries anyway.
MAX_RETRY_AFTER = 6 * 3600.0

DEFAULT_BACKOFF = Backoff()


def retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds: a number of seconds, or an HTTP date from now;
    ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
