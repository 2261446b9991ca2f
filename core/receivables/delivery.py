"""A batch of the daily tick's notices sent: each e-mail prepared (or letter rendered) in
the calling thread while the one before is written to the outbox by a thread of its own.

Creating a file (a temporary one, then the rename) is kernel work whose time varies with
the machine's load far more than the Python work of preparing the next notice; done in a
second thread (the system calls release the GIL) the two overlap. The files are written
one after the other in the batch's order, exactly as before; what each write returned or
raised is that notice's result. A write that ends the process (``BaseException`` other
than ``Exception``: a worker told to stop) stops the writes queued after it and is raised
to the caller, as it was when the writes ran in the caller's thread. Through SMTP (a
connection per message) the notices are sent in the calling thread, one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from core.receivables.documents import Notice, render_letter
from core.receivables.emails import prepare_email
from core.receivables.mail import Outbox
from core.receivables.policy import Channel

__all__ = ["Result", "send_notices"]

Result = tuple[int, str | None, Exception | None]  # step id, where it went, or why not


class _Stopped(Exception):
    """A write not tried: one before it ended the process."""


def send_notices(outbox: Outbox, sender: str,
                 claimed: Sequence[tuple[int, str, Notice, Any]]) -> list[Result]:
    """Send the notices ``claimed`` (step id, channel, notice, …): e-mails from ``sender``
    to SMTP or the outbox folder, letters to the letters folder. Returns each step's
    result in order; the caller makes the files durable (``Outbox.sync``)."""
    if outbox.settings.smtp_host:
        return [_result(step_id, lambda c=channel, n=notice: _send(outbox, sender, c, n))
                for step_id, channel, notice, _ in claimed]
    stopped: list[BaseException] = []

    def write(method: Callable[[Any, str], Any], document: Any, key: str) -> str:
        if stopped:
            raise _Stopped()
        try:
            return str(method(document, key))
        except Exception:
            raise
        except BaseException as exc:  # the process is ending: nothing after it
            stopped.append(exc)
            raise

    pending: list[tuple[int, Future[str] | None, Exception | None]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="outbox") as writer:
        for step_id, channel, notice, _ in claimed:
            if stopped:
                break
            try:
                if channel == Channel.EMAIL:
                    job = writer.submit(write, outbox.send_email,
                                        prepare_email(notice, sender), notice.key)
                else:
                    job = writer.submit(write, outbox.store_letter, render_letter(notice),
                                        notice.key)
            except Exception as exc:  # recorded on the step and shown
                pending.append((step_id, None, exc))
            else:
                pending.append((step_id, job, None))
    if stopped:
        raise stopped[0]
    results: list[Result] = []
    for step_id, job, error in pending:
        if job is None:
            results.append((step_id, None, error))
            continue
        try:
            results.append((step_id, job.result(), None))
        except Exception as exc:  # recorded on the step and shown
            results.append((step_id, None, exc))
    return results


def _send(outbox: Outbox, sender: str, channel: str, notice: Notice) -> str:
    if channel == Channel.EMAIL:
        return outbox.send_email(prepare_email(notice, sender), notice.key)
    return str(outbox.store_letter(render_letter(notice), notice.key))


def _result(step_id: int, send: Callable[[], str]) -> Result:
    try:
        return step_id, send(), None
    except Exception as exc:  # recorded on the step and shown
        return step_id, None, exc
