"""payments: Stripe customer profiles (email and name for the Stripe customer, from AccountUpdated)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stripe_customer_profiles",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.Text, nullable=False, server_default=""),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stripe_customer_profiles")
