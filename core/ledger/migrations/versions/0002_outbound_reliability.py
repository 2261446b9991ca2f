"""outbound reliability: operation leases, retry times and uncertain outcomes, per-merchant
provider,
the not yet invoiced part of an order

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("uncertain", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("provider", sa.String(length=32), nullable=False,
                                   server_default="local"))
        batch.add_column(sa.Column("provider_settings", sa.JSON(), nullable=False,
                                   server_default="{}"))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("unbilled_by_rate", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("unbilled_by_rate")
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("provider_settings")
        batch.drop_column("provider")
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("claimed_at")
        batch.drop_column("uncertain")
