"""billing: the operator's tenant list, newest first with a keyset cursor

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (created_at, tenant_id) is the list's order and its cursor. The search (ILIKE on name and email)
    # scans: no trigram index without the pg_trgm extension, which we do not require (docs/operations.md).
    op.create_index("ix_accounts_created_tenant", "accounts", ["created_at", "tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_accounts_created_tenant", table_name="accounts")
