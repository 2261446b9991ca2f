"""write-back outbox and reconciliation polls

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "writebacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["shop_connections.id"],
                                name=op.f("fk_writebacks_connection_id_shop_connections")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_writebacks_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writebacks")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_writebacks_idempotency_key")),
    )
    with op.batch_alter_table("writebacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_writebacks_order_id"), ["order_id"])
        batch_op.create_index(batch_op.f("ix_writebacks_status"), ["status"])

    op.create_table(
        "shop_syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("orders_read", sa.Integer(), nullable=False),
        sa.Column("fed", sa.Integer(), nullable=False),
        sa.Column("drift", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["shop_connections.id"],
                                name=op.f("fk_shop_syncs_connection_id_shop_connections")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_syncs")),
    )
    with op.batch_alter_table("shop_syncs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_syncs_connection_id"), ["connection_id"])


def downgrade() -> None:
    with op.batch_alter_table("shop_syncs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_syncs_connection_id"))
    op.drop_table("shop_syncs")
    with op.batch_alter_table("writebacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_writebacks_status"))
        batch_op.drop_index(batch_op.f("ix_writebacks_order_id"))
    op.drop_table("writebacks")
