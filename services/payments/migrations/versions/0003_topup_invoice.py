"""payments: the invoice issued for a top-up (from DocumentIssued), answered by GetTopup

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
    op.add_column("topups", sa.Column("invoice_id", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("topups", "invoice_id")
