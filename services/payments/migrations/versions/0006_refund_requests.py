"""payments: refunds requested through the admin API, and which request a recorded refund answers

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refund_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("topup_id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stripe_refund_id", sa.String(255), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_refund_requests_topup_id", "refund_requests", ["topup_id"])
    op.add_column("refunds", sa.Column("request_id", sa.String(40), nullable=True))


def downgrade() -> None:
    op.drop_column("refunds", "request_id")
    op.drop_index("ix_refund_requests_topup_id", table_name="refund_requests")
    op.drop_table("refund_requests")
