"""payments: runtime tables, Stripe customers, top-ups, payment methods, refunds, Stripe events

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

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_runtime_tables(op)
    op.create_table(
        "stripe_customers",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(255), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "topups",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False, server_default="checkout"),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("trigger_id", sa.String(255), nullable=True, unique=True),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("bonus_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("checkout_session_id", sa.String(255), nullable=True),
        sa.Column("checkout_url", sa.Text, nullable=True),
        sa.Column("payment_method_id", sa.String(255), nullable=True),
        sa.Column("payment_intent_id", sa.String(255), nullable=True),
        sa.Column("charge_id", sa.String(255), nullable=True),
        sa.Column("failure_code", sa.String(100), nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("refunded_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_topups_tenant_key"),
    )
    op.create_index("ix_topups_tenant_id", "topups", ["tenant_id"])
    op.create_index("ix_topups_checkout_session_id", "topups", ["checkout_session_id"])
    op.create_index("ix_topups_payment_intent_id", "topups", ["payment_intent_id"])
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(32), nullable=False, server_default="unknown"),
        sa.Column("last4", sa.String(4), nullable=False, server_default=""),
        sa.Column("exp_month", sa.Integer, nullable=False, server_default="0"),
        sa.Column("exp_year", sa.Integer, nullable=False, server_default="0"),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("attached_at", TS, nullable=False),
    )
    op.create_index("ix_payment_methods_tenant_id", "payment_methods", ["tenant_id"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("topup_id", sa.String(40), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("refunded_at", TS, nullable=False),
    )
    op.create_index("ix_refunds_topup_id", "refunds", ["topup_id"])
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("processed_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_stripe_events_next_attempt_at", "stripe_events", ["next_attempt_at"])


def downgrade() -> None:
    for table in ("stripe_events", "refunds", "payment_methods", "topups", "stripe_customers"):
        op.drop_table(table)
