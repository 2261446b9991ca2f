"""the merchant's seller details for e-invoices (EN 16931: address, VAT ID, register, contact)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seller", sa.JSON(), server_default="{}",
                                      nullable=False))


def downgrade() -> None:
    # native DROP COLUMN: recreating the table would break the foreign keys to it
    with op.batch_alter_table("merchants", recreate="never") as batch_op:
        batch_op.drop_column("seller")
