"""rate-limit counters of the back office's sign-in and the HTTP API

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_windows",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_windows")),
    )
    op.create_index(op.f("ix_rate_limit_windows_window_start"), "rate_limit_windows",
                    ["window_start"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_limit_windows_window_start"), table_name="rate_limit_windows")
    op.drop_table("rate_limit_windows")
