"""Alembic environment: runs on the engine the kit hands over (see core.ledger.db)."""

from alembic import context

from core.ledger.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Processes starting together (workers on several machines) migrate one at a
            # time: the others wait here, then find the schema up to date.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7236189455)")
        context.run_migrations()
    connection.commit()
