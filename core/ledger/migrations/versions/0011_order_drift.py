"""lasting differences between a shop's orders and the ledger (drift), until resolved or
acknowledged

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-15
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_drift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("shop_order_id", sa.String(length=64), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("kit", sa.String(length=255), nullable=True),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["shop_connections.id"],
                                name=op.f("fk_order_drift_connection_id_shop_connections")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_drift")),
    )
    op.create_index("ix_order_drift_connection_id_shop_order_id", "order_drift",
                    ["connection_id", "shop_order_id"])


def downgrade() -> None:
    op.drop_index("ix_order_drift_connection_id_shop_order_id", table_name="order_drift")
    op.drop_table("order_drift")
