"""Who may use the kit's HTTP API and back office: API keys and back-office users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.ledger.models.base import Base, utcnow

__all__ = ["ApiKey", "AuditEvent", "ConnectCode", "OfficeSession", "User"]


class ApiKey(Base):
    """A merchant's key for the HTTP API. Only a SHA-256 of the secret is stored (keys are
    random, 256 bits: a slow password hash would add nothing); ``prefix`` finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class ConnectCode(Base):
    """A one-time code with which a shop's plugin connects the shop to a merchant
    (:mod:`core.connect`). Only a SHA-256 of the normalised code is stored; ``shop`` names
    the connection to make or re-connect (``None``: named after the shop's address).
    ``used_at`` and ``used_by_shop`` are set when a shop connects with it."""

    __tablename__ = "connect_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"), index=True)
    shop: Mapped[str | None] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_shop: Mapped[str | None] = mapped_column(String(64))


class User(Base):
    """A merchant's user of the back office. ``password_hash`` is werkzeug's (scrypt).
    Sign-in locks are per account and client address, counted from the audit record
    (:mod:`core.users`); ``failed_sign_ins`` and ``locked_until`` are no longer used (kept
    for databases made before; ``users unlock`` resets them). Ids are never given again
    (AUTOINCREMENT on SQLite; PostgreSQL's sequences never reuse): a removed user's audit
    events and operation sources (``office:<user id>:…``) stay its own."""

    __tablename__ = "users"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfficeSession(Base):
    """A signed-in back-office session. The browser's cookie carries a random token; only
    its SHA-256 is stored, so the row can be ended server-side (sign-out, password change,
    removal of the user, idle and absolute timeouts) and the cookie stops working."""

    __tablename__ = "office_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    client_address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))


class AuditEvent(Base):
    """Who did what in the back office: every action, sign-in, failed sign-in and upload.
    ``actor`` is the e-mail as typed or signed in (kept when the user is removed)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    merchant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(254))
    client_address: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
