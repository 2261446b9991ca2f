"""receivables: dunning, payments, hand-over

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handover_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("delivered_to", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_handover_batches_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_batches")),
    )
    op.create_table(
        "receivables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("installment", sa.Integer(), nullable=True),
        sa.Column("installments", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("credited", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.Column("default_on", sa.Date(), nullable=True),
        sa.Column("next_step_on", sa.Date(), nullable=True),
        sa.Column("handover_batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handover_batch_id"],
            ["handover_batches.id"],
            name=op.f("fk_receivables_handover_batch_id_handover_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_receivables_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_receivables_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_receivables_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivables")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_receivables_invoice_id")),
    )
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receivables_next_step_on"), ["next_step_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_receivables_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_receivables_status"), ["status"], unique=False)

    op.create_table(
        "dunning_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receivable_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=True),
        sa.Column("delivered_to", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receivable_id"],
            ["receivables.id"],
            name=op.f("fk_dunning_steps_receivable_id_receivables"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_steps")),
        sa.UniqueConstraint(
            "receivable_id", "step_id", name=op.f("uq_dunning_steps_receivable_id")
        ),
    )
    with op.batch_alter_table("dunning_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dunning_steps_status"), ["status"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("receivable_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=140), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_payments_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["receivable_id"],
            ["receivables.id"],
            name=op.f("fk_payments_receivable_id_receivables"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payments_idempotency_key")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payments_receivable_id"), ["receivable_id"], unique=False
        )

    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column(
                "installment_interval_days", sa.Integer(), server_default="30", nullable=False
            )
        )
        batch_op.add_column(sa.Column("dunning_policy", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("dunning_policy_set_by", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("dunning_policy_set_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_status_created_at", ["status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status_created_at")

    # native DROP COLUMN: recreating the table would break the foreign keys to it
    with op.batch_alter_table("merchants", recreate="never") as batch_op:
        batch_op.drop_column("dunning_policy_set_at")
        batch_op.drop_column("dunning_policy_set_by")
        batch_op.drop_column("dunning_policy")
        batch_op.drop_column("installment_interval_days")
        batch_op.drop_column("language")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_receivable_id"))
        batch_op.drop_index(batch_op.f("ix_payments_order_id"))

    op.drop_table("payments")
    with op.batch_alter_table("dunning_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dunning_steps_status"))

    op.drop_table("dunning_steps")
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receivables_status"))
        batch_op.drop_index(batch_op.f("ix_receivables_order_id"))
        batch_op.drop_index(batch_op.f("ix_receivables_next_step_on"))

    op.drop_table("receivables")
    op.drop_table("handover_batches")
