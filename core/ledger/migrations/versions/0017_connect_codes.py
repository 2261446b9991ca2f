"""one-time connection codes with which a shop's plugin connects itself

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connect_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("shop", sa.String(length=64), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by_shop", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name=op.f("fk_connect_codes_merchant_id_merchants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connect_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_connect_codes_code_hash")),
    )
    with op.batch_alter_table("connect_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connect_codes_merchant_id"), ["merchant_id"])


def downgrade() -> None:
    with op.batch_alter_table("connect_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connect_codes_merchant_id"))
    op.drop_table("connect_codes")
