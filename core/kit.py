"""One running kit: its settings, ledger engine, plugins and queue, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from huey import crontab
from sqlalchemy import Engine

from core.config import Settings, load_settings
from core.einvoice.links import DocumentLinks
from core.einvoice.mail import send_due as send_document_emails
from core.errors import ConfigurationError
from core.execute import Outcome, replay_order
from core.hooks import Hooks
from core.inbox import replay_order_deliveries
from core.ledger.db import make_engine, upgrade
from core.plugins import get_plugin_manager
from core.queue import Queue, make_huey
from core.receivables.tick import DailyTick
from core.retry import DEFAULT_BACKOFF, Backoff
from core.statements.build import build_last_week
from core.sync.poll import sync_all

__all__ = ["Kit", "daily_at", "retry_order"]


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
        queue = Queue(make_huey(settings.queue_url), engine, hooks, backoff,
                      links=DocumentLinks.for_settings(settings))
        tick = DailyTick.for_settings(engine, hooks, settings)
        queue.periodic(daily_at(settings.dunning.get("run_at", "06:00")), "dunning_tick",
                       tick.run)
        queue.periodic(crontab(minute="*"), "send_document_emails",
                       partial(send_document_emails, engine, tick.outbox, backoff))
        queue.periodic(crontab(day_of_week="1", hour="4", minute="0"), "weekly_statements",
                       partial(build_last_week, engine, settings.home / "statements"))
        every = settings.sync_every_minutes
        if every:
            if every < 0 or 60 % every:
                raise ConfigurationError("sync_every_minutes must divide 60 (or be 0)")
            queue.periodic(crontab(minute=f"*/{every}"), "sync_shops",
                           partial(sync_all, engine, hooks, queue.enqueue,
                                   public_url=settings.public_url))
        return cls(settings, engine, hooks, queue, backoff)


def retry_order(kit: Kit, shop: str, order_id: str) -> tuple[Outcome, list[int]]:
    """Retry an order's dead operations now, then queue its dead deliveries again: after a
    success they finish, after another transient failure they carry the retries on.
    Returns the outcome and the deliveries queued again (the command line's and the back
    office's retry)."""
    outcome = replay_order(kit.engine, kit.hooks, shop, order_id, kit.backoff)
    requeued: list[int] = []
    if outcome.failure is None or not outcome.failure.permanent:
        requeued = replay_order_deliveries(kit.engine, shop, order_id)
        for delivery_id in requeued:
            kit.queue.enqueue(delivery_id)
    return outcome, requeued


def daily_at(hh_mm: str) -> crontab:
    """A huey schedule for once a day at ``HH:MM`` UTC (``[dunning] run_at``)."""
    try:
        hour, minute = (int(part) for part in str(hh_mm).split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ConfigurationError("[dunning] run_at must be a time HH:MM (UTC)") from None
    return crontab(minute=str(minute), hour=str(hour))
