"""the e-invoice e-mails to buyers: one record per invoice or credit note

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-15
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_to", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"],
                                name=op.f("fk_document_emails_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_document_emails_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_emails")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_document_emails_invoice_id")),
    )
    with op.batch_alter_table("document_emails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_emails_order_id"), ["order_id"])
        batch_op.create_index(batch_op.f("ix_document_emails_status"), ["status"])


def downgrade() -> None:
    with op.batch_alter_table("document_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_emails_status"))
        batch_op.drop_index(batch_op.f("ix_document_emails_order_id"))
    op.drop_table("document_emails")
