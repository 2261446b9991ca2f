"""Configuration: the instance folder, its configuration file, and environment overrides.

The instance folder (``INVOICEKIT_HOME``, default ``./instance``) holds ``invoicekit.toml``,
the SQLite ledger and the SQLite queue of the embedded default. The first run creates it.
Environment variables override the file: ``INVOICEKIT_DATABASE_URL``,
``INVOICEKIT_QUEUE_URL``, ``INVOICEKIT_MAX_BODY_BYTES``; ``INVOICEKIT_SECRET_KEY`` signs the
back office's sessions (:func:`session_secret`).
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError

__all__ = ["Settings", "load_settings", "session_secret", "setup_logging"]

CONFIG_FILE = "invoicekit.toml"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: WooCommerce orders with hundreds of lines fit


@dataclass(frozen=True)
class Settings:
    """Where the kit keeps its data and how it talks to the outside."""

    home: Path
    database_url: str
    queue_url: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    public_url: str = "http://127.0.0.1:8000"
    workers: int = 2
    sync_every_minutes: int = 15
    platforms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    mail: Mapping[str, Any] = field(default_factory=dict, repr=False)  # holds a password
    dunning: Mapping[str, Any] = field(default_factory=dict)
    # the back office's and the HTTP API's protection: session lifetimes, rate limits
    # (docs/deploy.md lists the keys and their defaults)
    office: Mapping[str, Any] = field(default_factory=dict)


def _template(home: Path) -> str:
    return (
        "# invoicekit configuration, created on first run. Environment variables\n"
        "# (INVOICEKIT_DATABASE_URL, INVOICEKIT_QUEUE_URL, ...) override these values.\n\n"
        f'database_url = "sqlite:///{home / "invoicekit.db"}"\n'
        f'queue_url = "sqlite:///{home / "queue.db"}"\n'
        f"max_body_bytes = {DEFAULT_MAX_BODY_BYTES}\n"
        '# The address shops post to, used in the delivery URLs the CLI prints.\n'
        'public_url = "http://127.0.0.1:8000"\n'
        "# Queue worker threads of `invoicekit serve` and `invoicekit worker`.\n"
        "workers = 2\n"
        "# How often the worker polls shops with API credentials for changes it missed\n"
        "# (minutes, a divisor of 60; 0 turns the poll off).\n"
        "sync_every_minutes = 15\n"
        "\n# Settings of platform apps, e.g. the Shopware app (see docs/shopware.md):\n"
        "# [platforms.shopware]\n"
        '# app_name = "InvoiceKit"\n'
        '# app_secret = "..."\n'
        "\n# Reminder e-mails go to the outbox folder as .eml files unless SMTP is set\n"
        "# (see docs/receivables.md):\n"
        "# [mail]\n"
        '# sender = "Receivables <billing@example.com>"\n'
        '# smtp_host = "smtp.example.com"\n'
        "# smtp_port = 587\n"
        "\n# The back office's and the API's protection (see docs/deploy.md):\n"
        "# [office]\n"
        "# session_idle_minutes = 30\n"
        "# session_max_hours = 12\n"
        "# sign_in_per_minute = 10\n"
        "# api_per_minute = 120\n"
        "# checkout_confirm_per_minute = 20   # the buyer's checkout page, per address\n"
        "# trusted_proxies = 0   # 1 behind one reverse proxy such as nginx\n"
    )


def load_settings(home: str | Path | None = None, *, create: bool = True) -> Settings:
    """Read the instance folder's settings, creating the folder and file on first use."""
    home = Path(home or os.environ.get("INVOICEKIT_HOME") or "instance").resolve()
    path = home / CONFIG_FILE
    if not path.exists():
        if not create:
            raise ConfigurationError(f"no configuration at {path}; run `invoicekit serve` or "
                                     "`invoicekit db upgrade` once to create it")
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(_template(home), encoding="utf-8")
        print(f"invoicekit: created the instance folder {home}", file=sys.stderr)
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    env = os.environ
    try:
        return Settings(
            home=home,
            database_url=env.get("INVOICEKIT_DATABASE_URL") or values["database_url"],
            queue_url=env.get("INVOICEKIT_QUEUE_URL") or values["queue_url"],
            max_body_bytes=int(env.get("INVOICEKIT_MAX_BODY_BYTES")
                               or values.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)),
            public_url=str(values.get("public_url", Settings.public_url)).rstrip("/"),
            workers=int(values.get("workers", Settings.workers)),
            sync_every_minutes=int(values.get("sync_every_minutes",
                                              Settings.sync_every_minutes)),
            platforms={name: dict(table) for name, table in values.get("platforms", {}).items()},
            mail=dict(values.get("mail", {})),
            dunning=dict(values.get("dunning", {})),
            office=dict(values.get("office", {})),
        )
    except (KeyError, ValueError) as exc:
        raise ConfigurationError(f"{path}: missing or invalid setting {exc}") from None


def session_secret(settings: Settings) -> str:
    """The key that signs back-office sessions: ``INVOICEKIT_SECRET_KEY``, else the instance
    folder's ``secret_key`` file, made (readable by the owner only) on first use. Processes
    on several machines need the same key: set the variable."""
    if os.environ.get("INVOICEKIT_SECRET_KEY"):
        return os.environ["INVOICEKIT_SECRET_KEY"]
    path = settings.home / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key)
    return key


def setup_logging() -> None:
    """Log INFO and above to standard error, unless the process set up logging itself."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
