"""Bank statement files of any supported kind: the kind is sniffed from the file's start."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from core.errors import UnreadableFile
from core.payments.camt import SUPPORTED, read_camt053
from core.payments.mt940 import read_mt940
from core.payments.transactions import BankTransaction

__all__ = ["FORMATS", "read_bank_file", "sniff"]

Reader = Callable[[Path | BinaryIO], Iterator[BankTransaction]]

#: The kinds read, by the name :func:`sniff` gives them.
FORMATS: dict[str, Reader] = {"camt.053": read_camt053, "mt940": read_mt940}
SUPPORTED_KINDS = f"ISO 20022 {SUPPORTED} (XML) or SWIFT MT940"
HEAD = 64 * 1024
_CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053."
_MT940 = re.compile(r"^:20:", re.MULTILINE)
_BOMS = {b"\xef\xbb\xbf": "utf-8", b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}


def sniff(head: bytes) -> str | None:
    """The kind of a file from its first bytes: ``camt.053`` for XML in a camt.053
    namespace (of any version; the reader refuses the unsupported ones), ``mt940`` for text
    with a ``:20:`` tag at a line's start; else ``None``."""
    text = _text(head).lstrip()
    if text.startswith("<"):
        return "camt.053" if _CAMT053 in text else None
    if _MT940.search(text):
        return "mt940"
    return None


def _text(head: bytes) -> str:
    """The head as text: by its byte-order mark, else latin-1 (only ASCII is looked at)."""
    for bom, encoding in _BOMS.items():
        if head.startswith(bom):
            return head[len(bom):].decode(encoding, errors="replace")
    return head.decode("latin-1")


def read_bank_file(path: Path) -> Iterator[BankTransaction]:
    """The transactions of a bank statement file, by the reader of its kind.

    A file of no supported kind raises :class:`UnreadableFile` here; a file of a supported
    kind that is bad raises it while the result is iterated.
    """
    with Path(path).open("rb") as stream:
        head = stream.read(HEAD)
    kind = sniff(head)
    if kind is None:
        raise UnreadableFile(
            f"{Path(path).name} is not a bank statement file of a supported kind: "
            f"{SUPPORTED_KINDS}")
    return FORMATS[kind](Path(path))
