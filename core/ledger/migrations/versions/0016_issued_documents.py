"""the e-invoices as issued: one stored file per document and kind; user ids never reused

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"],
                                name=op.f("fk_issued_documents_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_documents")),
        sa.UniqueConstraint("invoice_id", "kind", name=op.f("uq_issued_documents_invoice_id")),
    )
    _users_autoincrement(True)


def downgrade() -> None:
    _users_autoincrement(False)
    op.drop_table("issued_documents")


def _users_autoincrement(on: bool) -> None:
    """SQLite gives the next row the highest id + 1, so the id of the newest user, once
    removed, went to the next new one, with the removed user's audit events and operation
    sources (``office:<user id>:…``). AUTOINCREMENT (a table option: the table is made
    anew) never gives an id twice. PostgreSQL's sequences never did."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # Dropping the old table (foreign keys are on) would delete the back-office sessions
    # that refer to it (ON DELETE CASCADE): they are kept aside and put back.
    sessions = bind.execute(sa.text("SELECT * FROM office_sessions")).mappings().all()
    with op.batch_alter_table("users", recreate="always",
                              table_kwargs={"sqlite_autoincrement": on}):
        pass
    if sessions:
        table = sa.table("office_sessions", *(sa.column(name) for name in sessions[0]))
        bind.execute(sa.delete(table))
        bind.execute(sa.insert(table), [dict(row) for row in sessions])
    if on:
        # Which ids were given before is not kept; new ones start after the highest any
        # record names: users, audit events, sessions, office operations (office:<id>:…).
        highest = bind.execute(sa.text(
            "SELECT max(id) FROM (SELECT max(id) AS id FROM users"
            " UNION ALL SELECT max(user_id) FROM audit_events"
            " UNION ALL SELECT max(user_id) FROM office_sessions"
            " UNION ALL SELECT max(CAST(substr(source, 8, instr(substr(source, 8), ':') - 1)"
            " AS INTEGER)) FROM operations WHERE source GLOB 'office:[0-9]*:*')")).scalar()
        if highest:
            bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'users'"))
            bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('users', :n)"),
                         {"n": highest})
