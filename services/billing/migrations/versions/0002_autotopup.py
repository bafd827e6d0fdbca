"""billing: auto top-up settings and charges

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "autotopup_settings",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("threshold_cents", sa.BigInteger, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("monthly_limit_cents", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="disabled"),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("disabled_reason", sa.String, nullable=True),
        sa.Column("action_url", sa.String, nullable=True),
        sa.Column("current_trigger_id", sa.String(64), nullable=True),
        sa.Column("last_triggered_at", TS, nullable=True),
        sa.Column("next_retry_at", TS, nullable=True),
        sa.Column("monthly_limit_notified_month", sa.String(7), nullable=True),
        sa.Column("default_payment_method_id", sa.String(255), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_autotopup_settings_enabled_state", "autotopup_settings", ["enabled", "state"])
    op.create_table(
        "autotopup_charges",
        sa.Column("trigger_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="requested"),
        sa.Column("topup_id", sa.String(64), nullable=True),
        sa.Column("failure_code", sa.String, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_autotopup_charges_tenant_month", "autotopup_charges", ["tenant_id", "month"])


def downgrade() -> None:
    op.drop_table("autotopup_charges")
    op.drop_table("autotopup_settings")
