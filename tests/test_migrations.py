"""The migrations create exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core.ledger.db import upgrade
from core.ledger.models import Base


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_downgrade_removes_everything_and_upgrade_restores_it(engine):
    upgrade_tables = set(inspect(engine).get_table_names())
    from alembic import command

    from core.ledger.db import alembic_config

    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) == upgrade_tables


def test_sqlite_runs_in_wal_mode(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_users_get_autoincrement_and_keep_their_sessions(engine):
    """0016 makes ``users`` anew on SQLite (AUTOINCREMENT): the back-office sessions, which
    the old table's drop would cascade-delete, are kept, and new ids start after the
    highest one any record names (here a removed user's audit event)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's sequences never reuse ids; nothing to migrate")
    from alembic import command
    from sqlalchemy import func, select

    from core.audit import record
    from core.ledger.db import alembic_config, session_scope
    from core.ledger.models import OfficeSession, User
    from core.ledger.store import Ledger
    from core.users import create_user

    command.downgrade(alembic_config(engine), "0015")
    with session_scope(engine) as session:
        ledger = Ledger(session)
        ledger.add_merchant(id=3333, name="ACME Office GmbH", country="DE",
                            account_holder="ACME", bank_code="10020030",
                            account_first=4_000_000_000, account_last=4_000_009_999)
        anna = create_user(ledger, 3333, "anna@acme.example", "correct horse battery")
        session.add(OfficeSession(token_hash="a" * 64, user_id=anna.id))
        record(ledger, actor="gone@acme.example", action="sign_in", outcome="ok",
               user_id=anna.id + 6)  # a user removed before the upgrade
    upgrade(engine)
    with session_scope(engine) as session:
        assert session.scalars(select(OfficeSession.user_id)).all() == [anna.id]
        bea = create_user(Ledger(session), 3333, "bea@acme.example", "correct horse battery")
        assert bea.id == anna.id + 7
        assert session.scalar(select(func.count(User.id))) == 2
