"""charges claimed from buyers in default; the part of an invoice a payment went to

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receivable_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("claimed", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("waived", sa.BigInteger(), nullable=False),
        sa.Column("waived_on", sa.Date(), nullable=True),
        sa.Column("waive_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["receivable_id"], ["receivables.id"],
                                name=op.f("fk_charges_receivable_id_receivables")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
        sa.UniqueConstraint("receivable_id", "kind", name=op.f("uq_charges_receivable_id")),
    )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_charges_receivable_id"), ["receivable_id"])
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("part", sa.String(length=16), nullable=False,
                                      server_default="principal"))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("part")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charges_receivable_id"))
    op.drop_table("charges")
