"""payments: bank transactions, buyer credit, fees, RF references

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bank_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("account_iban", sa.String(length=34), nullable=False),
        sa.Column("credited_iban", sa.String(length=34), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credit", sa.Boolean(), nullable=False),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("value_on", sa.Date(), nullable=True),
        sa.Column("debtor_name", sa.String(length=140), nullable=True),
        sa.Column("debtor_iban", sa.String(length=34), nullable=True),
        sa.Column("remittance", sa.Text(), nullable=False),
        sa.Column("creditor_reference", sa.String(length=35), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("matched_by", sa.String(length=16), nullable=True),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("buyer_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("proposed_order_id", sa.Integer(), nullable=True),
        sa.Column("to_credit", sa.BigInteger(), nullable=False),
        sa.Column("reversed_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"],
                                name=op.f("fk_bank_transactions_buyer_id_buyers")),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name=op.f("fk_bank_transactions_merchant_id_merchants")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_bank_transactions_order_id_orders")),
        sa.ForeignKeyConstraint(["proposed_order_id"], ["orders.id"],
                                name=op.f("fk_bank_transactions_proposed_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["reversed_by_id"], ["bank_transactions.id"],
            name=op.f("fk_bank_transactions_reversed_by_id_bank_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transactions")),
        sa.UniqueConstraint("key", name=op.f("uq_bank_transactions_key")),
    )
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_transactions_buyer_id"), ["buyer_id"])
        batch_op.create_index(batch_op.f("ix_bank_transactions_end_to_end_id"),
                              ["end_to_end_id"])
        batch_op.create_index(batch_op.f("ix_bank_transactions_status"), ["status"])

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transaction_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_payments_transaction_id"), ["transaction_id"])
        batch_op.create_foreign_key(batch_op.f("fk_payments_transaction_id_bank_transactions"),
                                    "bank_transactions", ["transaction_id"], ["id"])

    # native ADD COLUMN: recreating these tables would break the foreign keys to them
    with op.batch_alter_table("merchants", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("fee_percent", sa.Numeric(precision=5, scale=2),
                                      server_default="6.99", nullable=False))
        batch_op.add_column(sa.Column("fee_vat_percent", sa.Numeric(precision=5, scale=2),
                                      server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rf_references", sa.Boolean(), server_default="0",
                                      nullable=False))
    with op.batch_alter_table("buyers", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("credit", sa.BigInteger(), server_default="0",
                                      nullable=False))
    with op.batch_alter_table("invoices", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("creditor_reference", sa.String(length=25),
                                      nullable=True))
        batch_op.create_index(batch_op.f("ix_invoices_creditor_reference"),
                              ["creditor_reference"])
    with op.batch_alter_table("orders", recreate="never") as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_order_number"), ["order_number"])
        batch_op.create_index(batch_op.f("ix_orders_buyer_id"), ["buyer_id"])
    with op.batch_alter_table("movements", recreate="never") as batch_op:
        batch_op.create_index("ix_movements_merchant_id_occurred_at",
                              ["merchant_id", "occurred_at"])


def downgrade() -> None:
    with op.batch_alter_table("movements", recreate="never") as batch_op:
        batch_op.drop_index("ix_movements_merchant_id_occurred_at")
    with op.batch_alter_table("orders", recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_buyer_id"))
        batch_op.drop_index(batch_op.f("ix_orders_order_number"))
    with op.batch_alter_table("invoices", recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_creditor_reference"))
        batch_op.drop_column("creditor_reference")
    with op.batch_alter_table("buyers", recreate="never") as batch_op:
        batch_op.drop_column("credit")
    with op.batch_alter_table("merchants", recreate="never") as batch_op:
        batch_op.drop_column("rf_references")
        batch_op.drop_column("fee_vat_percent")
        batch_op.drop_column("fee_percent")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_payments_transaction_id_bank_transactions"),
                                 type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_payments_transaction_id"))
        batch_op.drop_column("transaction_id")
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_transactions_status"))
        batch_op.drop_index(batch_op.f("ix_bank_transactions_end_to_end_id"))
        batch_op.drop_index(batch_op.f("ix_bank_transactions_buyer_id"))
    op.drop_table("bank_transactions")
