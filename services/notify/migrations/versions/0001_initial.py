"""notify: runtime tables, contacts, preferences, push subscriptions, webhook endpoints, deliveries

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from runtime.tables import create_runtime_tables, drop_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_runtime_tables(op)
    op.create_table(
        "contacts",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String, nullable=False, server_default=""),
        sa.Column("email", sa.String, nullable=False, server_default=""),
        sa.Column("phone", sa.String, nullable=True),
        sa.Column("locale", sa.String(8), nullable=False, server_default="de"),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "preferences",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(64), primary_key=True),
        sa.Column("channels", sa.String, nullable=False, server_default=""),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("endpoint", sa.String, nullable=False),
        sa.Column("p256dh", sa.String, nullable=False),
        sa.Column("auth", sa.String, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "endpoint", name="uq_push_tenant_endpoint"),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("url", sa.String, nullable=False),
        sa.Column("events", sa.String, nullable=False),
        sa.Column("secret", sa.String, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="enabled"),
        sa.Column("disabled_reason", sa.String, nullable=True),
        sa.Column("failing_since", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "delivery_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("replay_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.String, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_jobs_due", "delivery_jobs", ["status", "channel", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("job_id", sa.String(40), nullable=False, index=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.String, nullable=True),
        sa.Column("response_snippet", sa.String, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempted_at", TS, nullable=False),
    )
    op.create_index("ix_attempts_target_time", "delivery_attempts", ["target", "attempted_at"])


def downgrade() -> None:
    for table in (
        "delivery_attempts",
        "delivery_jobs",
        "webhook_endpoints",
        "push_subscriptions",
        "preferences",
        "contacts",
    ):
        op.drop_table(table)
    drop_runtime_tables(op)
