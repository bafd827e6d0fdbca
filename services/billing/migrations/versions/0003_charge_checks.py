"""billing: when payments was last asked about a charge in flight (AUTOTOPUP_INFLIGHT_TIMEOUT_S)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("autotopup_charges", sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("autotopup_charges", "checked_at")
