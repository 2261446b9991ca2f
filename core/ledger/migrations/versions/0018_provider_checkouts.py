"""providers' checkout sessions (Billie's widget) and the orders confirmed in them

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_checkouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=True),
        sa.Column("provider_reference", sa.String(length=128), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("decline_reason", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("shop_reference", sa.String(length=64), nullable=True),
        sa.Column("page", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["shop_connections.id"],
                                name=op.f("fk_provider_checkouts_connection_id_shop_connections")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_checkouts")),
        sa.UniqueConstraint("connection_id", "session_id",
                            name=op.f("uq_provider_checkouts_connection_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_provider_checkouts_token_hash")),
    )
    with op.batch_alter_table("provider_checkouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_checkouts_order_number"),
                              ["order_number"])
        batch_op.create_index(batch_op.f("ix_provider_checkouts_shop_reference"),
                              ["shop_reference"])


def downgrade() -> None:
    with op.batch_alter_table("provider_checkouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_checkouts_shop_reference"))
        batch_op.drop_index(batch_op.f("ix_provider_checkouts_order_number"))
    op.drop_table("provider_checkouts")
