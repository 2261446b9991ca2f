"""A batch of the daily tick's notices sent: each e-mail prepared (or letter rendered) and
written to the outbox (or sent through SMTP) in turn, in the batch's order; what each
returned or raised is that notice's result.

The files are written in the calling thread. (A writer thread of its own was tried: each
file takes several system calls, and after each the writer waits for the interpreter's
lock, which the thread preparing the next e-mail holds for up to its switch interval, so
the writer fell behind and the batch then waited for it; written in turn each file costs
its system calls alone.) A write that ends the process (``BaseException`` other than
``Exception``: a worker told to stop) is raised to the caller, and nothing after it is
sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.receivables.documents import Notice, render_letter
from core.receivables.emails import prepare_email
from core.receivables.mail import Outbox
from core.receivables.policy import Channel

__all__ = ["Result", "send_notices"]

Result = tuple[int, str | None, Exception | None]  # step id, where it went, or why not


def send_notices(outbox: Outbox, sender: str,
                 claimed: Sequence[tuple[int, str, Notice, Any]]) -> list[Result]:
    """Send the notices ``claimed`` (step id, channel, notice, …): e-mails from ``sender``
    to SMTP or the outbox folder, letters to the letters folder. Returns each step's
    result in order; the caller makes the files durable (``Outbox.sync``)."""
    results: list[Result] = []
    for step_id, channel, notice, _ in claimed:
        try:
            if channel == Channel.EMAIL:
                where = outbox.send_email(prepare_email(notice, sender), notice.key)
            else:
                where = str(outbox.store_letter(render_letter(notice), notice.key))
        except Exception as exc:  # recorded on the step and shown
            results.append((step_id, None, exc))
        else:
            results.append((step_id, where, None))
    return results
