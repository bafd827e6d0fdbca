"""billing: promotional credit grants and what each usage debit drew from them

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("remaining_cents", sa.BigInteger, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False, server_default="100"),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("notice_sent_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_grants_tenant_key"),
        sa.CheckConstraint("remaining_cents >= 0 AND remaining_cents <= amount_cents", name="ck_grants_remaining"),
        sa.CheckConstraint("status IN ('open', 'expired', 'voided')", name="ck_grants_status"),
    )
    # The debit path's one query per batch, and the expiry job's, read only open grants with something left.
    op.create_index("ix_grants_open_tenant", "grants", ["tenant_id"], postgresql_where=sa.text("status = 'open'"))
    op.create_index(
        "ix_grants_open_expiry",
        "grants",
        ["expires_at"],
        postgresql_where=sa.text("status = 'open' AND expires_at IS NOT NULL"),
    )
    op.create_table(
        "grant_allocations",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        # one row per usage debit that draws: indexed only by grant ("where did this grant go?"), as every
        # index here is paid on the debit path (a second one, by transaction, cost ~10 µs per debit)
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("grant_id", sa.String(40), nullable=False, index=True),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.CheckConstraint("amount_cents > 0", name="ck_grant_allocations_positive"),
    )


def downgrade() -> None:
    op.drop_table("grant_allocations")
    op.drop_index("ix_grants_open_expiry", table_name="grants")
    op.drop_index("ix_grants_open_tenant", table_name="grants")
    op.drop_table("grants")
