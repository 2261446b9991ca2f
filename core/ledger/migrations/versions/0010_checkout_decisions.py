"""eligibility decisions made at a shop's checkout, kept for the order's placement

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkout_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("shop_order_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["shop_connections.id"],
                                name=op.f("fk_checkout_decisions_connection_id_shop_connections")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_decisions")),
        sa.UniqueConstraint("connection_id", "shop_order_id",
                            name=op.f("uq_checkout_decisions_connection_id")),
    )


def downgrade() -> None:
    op.drop_table("checkout_decisions")
