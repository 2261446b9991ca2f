"""Dunning e-mails straight to the bytes the outbox writes, without building a message.

:func:`prepare_email` gives the same bytes as ``render_email(notice, sender).as_bytes()``
with the outbox's policy (:data:`core.receivables.mail.SMTP`), at a fraction of the cost:

- the headers repeated from one e-mail to the next (sender, date, and the content headers
  of a skeleton message built once) are folded once per distinct value;
- a recipient, Message-ID or subject that is plain ASCII and fits on its line is written
  as it is, which is what the ``email`` package's folding does with such a value; a
  subject that needs encoding is folded once per wording and length of its invoice
  number (a placeholder of the same length in its place, which folds alike), the rest
  each time by the ``email`` package;
- the text is quoted-printable encoded by the same function ``set_content`` uses, its
  line ends written as the generator writes them.

``tests/test_dunning_emails.py`` compares the two on many notices.
"""

from __future__ import annotations

import re
from email import quoprimime
from email.message import EmailMessage
from functools import lru_cache

from core.receivables.documents import (
    POLICY,
    Notice,
    check_recipient,
    compose,
    email_body,
    email_headers,
    render_email,
)
from core.receivables.mail import SMTP, PreparedEmail

__all__ = ["prepare_email"]

MAX_LINE = 78  # the policies' max_line_length
_NL = re.compile(r"\r\n|\r|\n")  # the generator's line ends (email.generator.NLCRE)
_ADDRESS = re.compile(r"[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*@invoicekit>")
_NUMBER = re.compile(r"[A-Za-z0-9./_-]{1,40}")  # an invoice number folded as a placeholder
_MARK = "#"  # the placeholder's character: never written as it is in an encoded word


def prepare_email(notice: Notice, sender: str) -> PreparedEmail:
    """The notice as :func:`render_email` makes it, already as the outbox's bytes."""
    check_recipient(notice)
    content = compose(notice)
    head = [_header(name, value, notice.invoice_number)
            for name, value in email_headers(notice, sender, content)]
    data = b"".join(head) + _content_headers() + b"\r\n" + _encoded(email_body(notice,
                                                                             content))
    return PreparedEmail(data, lambda: render_email(notice, sender))


def _header(name: str, value: str, number: str) -> bytes:
    if name in ("From", "Date"):
        return _fold_once(name, value)
    if len(name) + 2 + len(value) <= MAX_LINE and _plain(name, value):
        return f"{name}: {value}\r\n".encode("ascii")
    if name == "Subject":
        folded = _subject(value, number)
        if folded is not None:
            return folded
    return _fold(name, value)


def _plain(name: str, value: str) -> bool:
    """Whether the ``email`` package writes the header as ``name: value`` (it fits)."""
    if name == "To":
        return _ADDRESS.fullmatch(value) is not None
    if name == "Message-ID":
        return _MESSAGE_ID.fullmatch(value) is not None
    return (value.isascii() and value.isprintable() and "=?" not in value
            and value == " ".join(value.split()) and value != "")


def _subject(value: str, number: str) -> bytes | None:
    """The subject folded with a placeholder for the invoice number, the number put back;
    ``None`` unless the number is plain and shows as it is exactly where the placeholder
    does."""
    if _NUMBER.fullmatch(number) is None or value.count(number) != 1:
        return None
    mark = _MARK * len(number)
    folded = _fold_once("Subject", value.replace(number, mark))
    if folded.count(_MARK.encode()) != len(number) or mark.encode() not in folded:
        return None
    return folded.replace(mark.encode(), number.encode("ascii"))


def _fold(name: str, value: str) -> bytes:
    """The header as the message stores it (:data:`POLICY`) and the generator writes it."""
    return SMTP.fold_binary(name, POLICY.header_store_parse(name, value)[1])


@lru_cache(maxsize=1024)
def _fold_once(name: str, value: str) -> bytes:
    return _fold(name, value)


@lru_cache(maxsize=1)
def _content_headers() -> bytes:
    """The headers ``set_content`` adds (content type, encoding, MIME version), from a
    skeleton message."""
    skeleton = EmailMessage(policy=POLICY)
    skeleton.set_content("-\n", charset="utf-8", cte="quoted-printable")
    return b"".join(SMTP.fold_binary(name, value) for name, value in skeleton.raw_items())


def _encoded(text: str) -> bytes:
    """``text`` as ``set_content(..., cte="quoted-printable")`` encodes it and the
    generator writes it: line by line (the encoding of a line depends on that line
    alone), each distinct line encoded once (:data:`_LINES` kept; most lines of a
    notice are the same wording from one notice to the next)."""
    lines = text.encode("utf-8").splitlines()
    if not lines:
        return _encoded_whole(lines)
    cache = _LINES
    if len(cache) > _KEPT:
        cache.clear()
    out = []
    for line in lines:
        encoded = cache.get(line)
        if encoded is None:
            encoded = cache[line] = _encoded_whole([line])
        out.append(encoded)
    return b"".join(out)


_LINES: dict[bytes, bytes] = {}  # a line of text -> its encoded bytes, line end included
_KEPT = 4096  # lines kept at most


def _encoded_whole(lines: list[bytes]) -> bytes:
    """The ``lines`` (without their line ends) as ``set_content`` encodes them and the
    generator writes them, at once."""
    data = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), MAX_LINE)
    parts = _NL.split(data)
    return ("".join(part + "\r\n" for part in parts[:-1]) + parts[-1]).encode("ascii")
