"""documents: a statement's entries as CSV beside its PDF; an invoice's tax case and buyer VAT ID
(for the DATEV export); the debtor numbers given to tenants

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
    op.add_column("documents", sa.Column("tax_category", sa.String(4), nullable=True))
    op.add_column("documents", sa.Column("buyer_vat_id", sa.String(20), nullable=True))
    op.create_table(
        "datev_debtors",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False, unique=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("datev_debtors")
    op.drop_column("documents", "buyer_vat_id")
    op.drop_column("documents", "tax_category")
    op.drop_column("documents", "csv_key")
