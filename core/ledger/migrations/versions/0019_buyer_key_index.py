"""an index on buyers.buyer_key: a placement's credit facts find the buyer's records with
every merchant by it (without, each placement read every buyer)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_buyers_buyer_key"), ["buyer_key"])


def downgrade() -> None:
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buyers_buyer_key"))
