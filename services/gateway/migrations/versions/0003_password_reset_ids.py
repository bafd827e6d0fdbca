"""gateway: password resets get an id (the only thing about them that goes on the bus) and a locale

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
    # Nullable: links issued before this release have none (and were sent the old way).
    op.add_column("password_reset_tokens", sa.Column("id", sa.String(40), nullable=True))
    op.add_column("password_reset_tokens", sa.Column("locale", sa.String(2), nullable=True))
    op.create_index("ix_password_reset_tokens_id", "password_reset_tokens", ["id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_password_reset_tokens_id", table_name="password_reset_tokens")
    op.drop_column("password_reset_tokens", "locale")
    op.drop_column("password_reset_tokens", "id")
