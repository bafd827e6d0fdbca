"""billing: the tenant's e-invoice profile (en16931 | xrechnung) and buyer reference (Leitweg-ID)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("einvoice_profile", sa.String(16), nullable=False, server_default="en16931"))
    op.add_column("accounts", sa.Column("buyer_reference", sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "buyer_reference")
    op.drop_column("accounts", "einvoice_profile")
