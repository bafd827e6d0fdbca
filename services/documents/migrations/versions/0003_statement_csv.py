"""documents: a statement's entries as CSV, stored beside its PDF

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
    op.add_column("documents", sa.Column("csv_key", sa.String, nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "csv_key")
