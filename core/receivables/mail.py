"""Delivering dunning documents: e-mails over SMTP or as ``.eml`` files, letters as PDF files.

Without ``smtp_host`` the e-mails land in ``<folder>/outbox/<key>.eml`` for the merchant to
send or inspect. Files are written atomically and named by the notice's key, so a repeated
delivery overwrites the same file instead of adding a second one.
"""

from __future__ import annotations

import contextlib
import ctypes
import email.policy
import functools
import itertools
import os
import smtplib
import ssl
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError, PermanentError, RetryableError
from core.receivables.documents import safe_key

__all__ = ["SMTP", "MailSettings", "Outbox", "PreparedEmail"]


def _text(key: str, value: object, *, optional: bool = False) -> str | None:
    if optional and value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\r" in value or "\n" in value:
        raise ConfigurationError(f"[mail] {key}: must be a non-empty single-line string")
    return value


def _flag(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"[mail] {key}: must be true or false")
    return value


LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")  # a relay on this machine: no TLS needed


@dataclass(frozen=True)
class MailSettings:
    """The ``[mail]`` table of ``invoicekit.toml``; SMTP is used only when ``smtp_host`` is set."""

    sender: str = "invoicekit <billing@localhost>"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    timeout: float = 30.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> MailSettings:
        """Read and check the settings; errors name the key, never the value."""
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise ConfigurationError(f"[mail] unknown setting {str(key)!r}")
        merged = {f.name: values.get(f.name, getattr(cls, f.name)) for f in fields(cls)}

        sender = _text("sender", merged["sender"])
        if "@" not in parseaddr(sender or "")[1]:
            raise ConfigurationError("[mail] sender: must be an e-mail address")
        port = merged["smtp_port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigurationError("[mail] smtp_port: must be an integer from 1 to 65535")
        timeout = merged["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError("[mail] timeout: must be a positive number of seconds")
        settings = cls(
            sender=sender or cls.sender,
            smtp_host=_text("smtp_host", merged["smtp_host"], optional=True),
            smtp_port=port,
            smtp_user=_text("smtp_user", merged["smtp_user"], optional=True),
            smtp_password=_text("smtp_password", merged["smtp_password"], optional=True),
            smtp_starttls=_flag("smtp_starttls", merged["smtp_starttls"]),
            smtp_ssl=_flag("smtp_ssl", merged["smtp_ssl"]),
            timeout=float(timeout),
        )
        if settings.smtp_starttls and settings.smtp_ssl:
            raise ConfigurationError("[mail] smtp_starttls, smtp_ssl: choose at most one")
        if (settings.smtp_user is None) != (settings.smtp_password is None):
            raise ConfigurationError("[mail] smtp_user, smtp_password: give both or neither")
        if settings.smtp_user and not (settings.smtp_starttls or settings.smtp_ssl) \
                and settings.smtp_host not in LOCAL_HOSTS:
            raise ConfigurationError("[mail] smtp_user: a password is sent only over TLS; set "
                                     "smtp_starttls or smtp_ssl")
        return settings


class _SMTPPolicy(email.policy.EmailPolicy):
    """``email.policy.SMTP``, folding each distinct header of the ones repeated from one
    notice to the next (sender, date, content headers) once."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in _REPEATED:
            return _folded(self, name, value)
        return super().fold_binary(name, value)


_REPEATED = frozenset(("from", "date", "content-type", "content-transfer-encoding",
                       "mime-version"))


@functools.lru_cache(maxsize=256)
def _folded(policy: email.policy.EmailPolicy, name: str, value: str) -> bytes:
    return email.policy.EmailPolicy.fold_binary(policy, name, value)


_SMTP = _SMTPPolicy(linesep="\r\n")
SMTP = _SMTP  # the policy of the bytes written to the outbox


@dataclass(frozen=True, slots=True)
class PreparedEmail:
    """An e-mail already as the bytes the outbox writes (what ``message.as_bytes`` with
    :data:`SMTP` gives), and how to make the message itself (for SMTP)."""

    data: bytes
    make: Callable[[], EmailMessage]


def write_atomic(path: Path | str, data: bytes, *, sync: bool = True,
                 folders: set[str] | None = None) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``;
    with ``sync=False`` the caller makes it durable (:func:`sync_files`). ``folders``: the
    folders known to exist already (the path's is added once made)."""
    folder, name = os.path.split(os.fspath(path))
    if folders is None or folder not in folders:
        os.makedirs(folder or ".", exist_ok=True)
        if folders is not None:
            folders.add(folder)
    handle, temp = _temporary(folder, name)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view):]
            if sync:
                os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


_TEMPORARY = itertools.count()
_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)


def _temporary(folder: str, name: str) -> tuple[int, str]:
    """A new file ``.<name>.<process>-<n>.tmp`` in ``folder``, opened to write, and its
    path: as ``tempfile.mkstemp`` makes one (created exclusively, mode 0600), named by the
    process and a counter rather than at random (another name if one is left over)."""
    for _ in range(100):
        temp = os.path.join(folder, f".{name}.{os.getpid()}-{next(_TEMPORARY)}.tmp")
        try:
            return os.open(temp, _EXCLUSIVE, 0o600), temp
        except FileExistsError:
            continue
    return tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)


def _syncfs(folder: Path) -> bool:
    """Flush the file system holding ``folder`` to disk (Linux ``syncfs``): one call for
    any number of files written there. False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        if libc.syncfs(handle) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(folder))
        return True
    finally:
        os.close(handle)


def sync_files(paths: Sequence[Path | str]) -> None:
    """Make the files ``paths`` (written with ``sync=False``) and their names durable: one
    ``syncfs`` per folder's file system where there is one, else an fsync per file and
    per folder."""
    for folder in sorted({os.path.dirname(os.fspath(path)) for path in paths}):
        if _syncfs(Path(folder)):
            continue
        for path in paths:
            if os.path.dirname(os.fspath(path)) == folder:
                with open(path, "rb") as file:
                    os.fsync(file.fileno())
        if os.name == "posix":
            handle = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)


class Outbox:
    """Where documents go: e-mails to SMTP or to ``folder/outbox/*.eml``, letters to
    ``folder/letters/*.pdf``."""

    def __init__(self, folder: Path, settings: MailSettings) -> None:
        self.folder = Path(folder)
        self.settings = settings
        self._unsynced: list[str] | None = None  # files written, not yet durable
        self._folders: set[str] = set()  # folders made within deferred_sync

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Within, files are written without an fsync each; :meth:`sync` makes them durable
        at once. Files not synced when the block ends stay as they are (not durable)."""
        self._unsynced, self._folders = [], set()
        try:
            yield
        finally:
            self._unsynced = None

    def sync(self) -> None:
        """Make the files written since :meth:`deferred_sync` began (or the last sync)
        durable."""
        if self._unsynced:
            sync_files(self._unsynced)
            self._unsynced = []

    def _write(self, path: str, data: bytes) -> None:
        if self._unsynced is None:
            write_atomic(path, data)
        else:  # within one deferred_sync, each folder is made once
            write_atomic(path, data, sync=False, folders=self._folders)
            self._unsynced.append(path)

    def send_email(self, message: EmailMessage | PreparedEmail, key: str) -> str:
        """Deliver ``message``; return the ``.eml`` path or ``"smtp:<host>"``.

        SMTP failures raise ``PermanentError`` when the server refuses every recipient or the
        message with a 5xx code, ``RetryableError`` otherwise (no connection, 4xx, login).
        """
        if self.settings.smtp_host:
            self._send_smtp(message.make() if isinstance(message, PreparedEmail) else message)
            return f"smtp:{self.settings.smtp_host}"
        path = os.path.join(self.folder, "outbox", f"{safe_key(key)}.eml")
        self._write(path, message.data if isinstance(message, PreparedEmail)
                    else message.as_bytes(policy=_SMTP))
        return path

    def store_letter(self, pdf: bytes, key: str) -> Path:
        """Write the letter to ``folder/letters/<key>.pdf`` and return the path."""
        path = self.folder / "letters" / f"{safe_key(key)}.pdf"
        self._write(str(path), pdf)
        return path

    def _scrub(self, text: str) -> str:
        """``text`` without the SMTP password, shortened for storage."""
        password = self.settings.smtp_password
        if password:
            text = text.replace(password, "***")
        return text[:300]

    def _reply(self, code: int, reply: bytes | str) -> str:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return self._scrub(f"{code} {' '.join(text.split())}")

    def _send_smtp(self, message: EmailMessage) -> None:
        settings = self.settings
        where = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
        tls = settings.smtp_ssl or settings.smtp_starttls
        context = ssl.create_default_context() if tls else None
        try:
            if settings.smtp_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host or "",
                                                      settings.smtp_port,
                                                      timeout=settings.timeout, context=context)
            else:
                smtp = smtplib.SMTP(settings.smtp_host or "", settings.smtp_port,
                                    timeout=settings.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise RetryableError(self._scrub(f"{where}: cannot connect "
                                             f"({type(exc).__name__}: {exc})")) from None
        try:
            if settings.smtp_starttls:
                smtp.starttls(context=context)
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            replies = [self._reply(code, reply) for code, reply in exc.recipients.values()]
            text = f"{where}: recipient refused: {'; '.join(replies)}"
            if all(500 <= code < 600 for code, _ in exc.recipients.values()):
                raise PermanentError(text) from None
            raise RetryableError(text) from None
        except smtplib.SMTPDataError as exc:
            text = f"{where}: message refused: {self._reply(exc.smtp_code, exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentError(text) from None
            raise RetryableError(text) from None
        except smtplib.SMTPResponseException as exc:
            raise RetryableError(f"{where}: {type(exc).__name__}: "
                                 f"{self._reply(exc.smtp_code, exc.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RetryableError(self._scrub(f"{where}: {type(exc).__name__}: {exc}")) from None
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
