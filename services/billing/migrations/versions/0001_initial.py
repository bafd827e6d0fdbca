"""billing: runtime tables, accounts, ledger, top-up credits, holds

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from runtime.tables import create_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger()
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_runtime_tables(op)
    op.create_table(
        "accounts",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String, nullable=False, server_default=""),
        sa.Column("email", sa.String, nullable=False, server_default=""),
        sa.Column("country", sa.String(2), nullable=False, server_default="DE"),
        sa.Column("vat_id", sa.String, nullable=True),
        sa.Column("phone", sa.String, nullable=True),
        sa.Column("address_line1", sa.String, nullable=False, server_default=""),
        sa.Column("postal_code", sa.String, nullable=False, server_default=""),
        sa.Column("city", sa.String, nullable=False, server_default=""),
        sa.Column("locale", sa.String(2), nullable=False, server_default="de"),
        sa.Column("low_balance_threshold_cents", sa.BigInteger, nullable=False, server_default="1000"),
        sa.Column("balance_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("balance_after_cents", sa.BigInteger, nullable=False),
        sa.Column("description", sa.String, nullable=False, server_default=""),
        sa.Column("reference", sa.String, nullable=True),
        sa.Column("source_key", sa.String(250), nullable=False, unique=True),
        sa.Column("quantity", sa.Float, nullable=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_ledger_tx_tenant_seq", "ledger_transactions", ["tenant_id", "seq"])
    op.create_index("ix_ledger_tx_tenant_kind_occurred", "ledger_transactions", ["tenant_id", "kind", "occurred_at"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_ledger_entries_transaction_id", "ledger_entries", ["transaction_id"])
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account"])
    op.create_table(
        "topup_credits",
        sa.Column("topup_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("bonus_cents", sa.BigInteger, nullable=False),
        sa.Column("refunded_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("bonus_reversed_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("source", sa.String(16), nullable=False, server_default="checkout"),
        sa.Column("credited_at", TS, nullable=False),
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(200), nullable=False, unique=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("settled_transaction_id", sa.String(40), nullable=True),
    )
    op.create_index("ix_holds_tenant_status", "holds", ["tenant_id", "status"])


def downgrade() -> None:
    for table in ("holds", "topup_credits", "ledger_entries", "ledger_transactions", "accounts"):
        op.drop_table(table)
