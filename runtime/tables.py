"""Tables the runtime needs in every service's schema: outbox, inbox and period claims.

Each service's first Alembic migration creates them with `create_runtime_tables(op)`.
"""

import sqlalchemy as sa

# Every timestamp of every service: `timestamptz`, written and read as UTC-aware datetimes.
TIMESTAMPTZ = sa.DateTime(timezone=True)

metadata = sa.MetaData()

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("created_at", TIMESTAMPTZ, nullable=False),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("message_id", sa.String(200), primary_key=True),
    sa.Column("received_at", TIMESTAMPTZ, nullable=False),
)

period_claims = sa.Table(
    "period_claims",
    metadata,
    sa.Column("job", sa.String(100), primary_key=True),
    sa.Column("period", sa.String(100), primary_key=True),
    sa.Column("claimed_by", sa.String(200), nullable=False),
    sa.Column("claimed_at", TIMESTAMPTZ, nullable=False),
)


def create_runtime_tables(op) -> None:
    for table in (outbox, inbox, period_claims):
        op.create_table(table.name, *[c.copy() for c in table.columns])


def drop_runtime_tables(op) -> None:
    for table in (period_claims, inbox, outbox):
        op.drop_table(table.name)


def table_of(model: type) -> sa.Table:
    """A SQLModel class's table, typed (SQLModel sets `__table__` at class creation, out of mypy's sight)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table
