"""One running kit: its settings, ledger engine, plugins and queue, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from core.config import Settings, load_settings
from core.hooks import Hooks
from core.ledger.db import make_engine, upgrade
from core.plugins import get_plugin_manager
from core.queue import Queue, make_huey
from core.retry import DEFAULT_BACKOFF, Backoff

__all__ = ["Kit"]


@dataclass
class Kit:
    """Everything a receiver, worker or command needs."""

    settings: Settings
    engine: Engine
    hooks: Hooks
    queue: Queue
    backoff: Backoff = DEFAULT_BACKOFF

    @classmethod
    def create(cls, settings: Settings | None = None, *, migrate: bool = False,
               backoff: Backoff = DEFAULT_BACKOFF) -> Kit:
        """Build the kit from ``settings`` (default: the instance folder's)."""
        settings = settings or load_settings()
        # Each consumer thread may hold two connections at once (the delivery it holds and
        # the transaction processing it); receivers hold one per request.
        pool = {} if settings.database_url.startswith("sqlite") else \
            {"pool_size": max(5, 2 * settings.workers + 2)}
        engine = make_engine(settings.database_url, **pool)
        if migrate:
            upgrade(engine)
        hooks = Hooks(get_plugin_manager())
        queue = Queue(make_huey(settings.queue_url), engine, hooks, backoff)
        return cls(settings, engine, hooks, queue, backoff)
