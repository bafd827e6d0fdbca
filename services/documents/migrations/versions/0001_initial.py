"""documents: runtime tables, documents, number counters, tenant profiles

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
        "documents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("number", sa.String(32), nullable=True, unique=True),
        sa.Column("issue_date", sa.Date, nullable=True),
        sa.Column("issued_at", TS, nullable=True),
        sa.Column("total_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("topup_id", sa.String(64), nullable=True),
        sa.Column("month", sa.String(7), nullable=True),
        sa.Column("pdf_key", sa.String, nullable=True),
        sa.Column("xml_key", sa.String, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("kind", "source_key", name="uq_documents_source"),
    )
    op.create_index("ix_documents_tenant_created", "documents", ["tenant_id", "created_at"])
    op.create_index("ix_documents_topup", "documents", ["kind", "topup_id"])
    op.create_table(
        "number_counters",
        sa.Column("series", sa.String(8), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last_number", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "tenant_profiles",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("as_of", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("tenant_profiles", "number_counters", "documents"):
        op.drop_table(table)
