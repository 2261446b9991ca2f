"""Rate-limit counters, shared by every process of the app (:mod:`webhooks.limits`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.ledger.models.base import Base

__all__ = ["RateLimitWindow"]


class RateLimitWindow(Base):
    """How often ``key`` (``sign-in:<address>``, ``api:<key prefix>``, …) was used in the
    window starting at ``window_start``. Rows an hour old are deleted as new windows open."""

    __tablename__ = "rate_limit_windows"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    hits: Mapped[int] = mapped_column(Integer)
