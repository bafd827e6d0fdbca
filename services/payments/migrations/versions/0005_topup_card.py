"""payments: the card a top-up was paid with (last four digits and brand), for its invoice (BG-18)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("topups", sa.Column("card_last4", sa.String(4), nullable=True))
    op.add_column("topups", sa.Column("card_brand", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("topups", "card_brand")
    op.drop_column("topups", "card_last4")
