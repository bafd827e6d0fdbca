"""PostgreSQL statements of the debit path: constant SQL taking arrays, so one prepared statement and
one round trip per batch (SQLAlchemy caches the compiled text; asyncpg caches the prepared statement).

Tables are unqualified: the connection's search_path is the service's schema (runtime.db).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from contracts.base import utcnow

CLAIM = sa.text(
    "INSERT INTO inbox (consumer, message_id, received_at) "
    "SELECT :consumer, m, :now FROM unnest(CAST(:ids AS varchar[])) AS m "
    "ON CONFLICT DO NOTHING RETURNING message_id"
)

CREATE_ACCOUNTS = sa.text(
    "INSERT INTO accounts (tenant_id, low_balance_threshold_cents, updated_at, created_at) "
    "SELECT t, :threshold, :now, :now FROM unnest(CAST(:ids AS varchar[])) AS t "
    "ON CONFLICT DO NOTHING"
)

LOCK_ACCOUNTS = sa.text(
    "SELECT tenant_id, balance_cents, low_balance_threshold_cents FROM accounts "
    "WHERE tenant_id = ANY(CAST(:ids AS varchar[])) ORDER BY tenant_id FOR UPDATE"
)

HELD = sa.text(
    "SELECT tenant_id, coalesce(sum(amount_cents), 0) FROM holds "
    "WHERE tenant_id = ANY(CAST(:ids AS varchar[])) AND status = 'active' AND expires_at > :now "
    "GROUP BY tenant_id"
)

# Only a usage debit reads grants: one statement per batch for the batch's debited tenants (their accounts
# are locked, and grants change only under that lock). Burn order is the domain's (domain/grants.py).
OPEN_GRANTS = sa.text(
    "SELECT id, tenant_id, remaining_cents, priority, expires_at, created_at FROM grants "
    "WHERE tenant_id = ANY(CAST(:ids AS varchar[])) AND status = 'open' AND remaining_cents > 0 "
    "AND (expires_at IS NULL OR expires_at > :now)"
)

DRAW_GRANTS = sa.text(
    "UPDATE grants AS g SET remaining_cents = g.remaining_cents - v.used "
    "FROM unnest(CAST(:ids AS varchar[]), CAST(:used AS bigint[])) AS v(gid, used) WHERE g.id = v.gid"
)

ALLOCATION_COLUMNS = ("transaction_id", "grant_id", "amount_cents")
INSERT_ALLOCATIONS = sa.text(
    "INSERT INTO grant_allocations (transaction_id, grant_id, amount_cents) SELECT * FROM unnest("
    "CAST(:transaction_id AS varchar[]), CAST(:grant_id AS varchar[]), CAST(:amount_cents AS bigint[]))"
)

TX_COLUMNS = (
    "id",
    "tenant_id",
    "kind",
    "amount_cents",
    "balance_after_cents",
    "description",
    "reference",
    "source_key",
    "quantity",
    "occurred_at",
    "created_at",
)
INSERT_TRANSACTIONS = sa.text(
    "INSERT INTO ledger_transactions (id, tenant_id, kind, amount_cents, balance_after_cents, description, "
    "reference, source_key, quantity, occurred_at, created_at) SELECT * FROM unnest("
    "CAST(:id AS varchar[]), CAST(:tenant_id AS varchar[]), CAST(:kind AS varchar[]), "
    "CAST(:amount_cents AS bigint[]), CAST(:balance_after_cents AS bigint[]), CAST(:description AS varchar[]), "
    "CAST(:reference AS varchar[]), CAST(:source_key AS varchar[]), CAST(:quantity AS float8[]), "
    "CAST(:occurred_at AS timestamptz[]), CAST(:created_at AS timestamptz[]))"
)

ENTRY_COLUMNS = ("transaction_id", "account", "amount_cents")
INSERT_ENTRIES = sa.text(
    "INSERT INTO ledger_entries (transaction_id, account, amount_cents) SELECT * FROM unnest("
    "CAST(:transaction_id AS varchar[]), CAST(:account AS varchar[]), CAST(:amount_cents AS bigint[]))"
)

SAVE_BALANCES = sa.text(
    "UPDATE accounts AS a SET balance_cents = v.bal, updated_at = :now "
    "FROM unnest(CAST(:ids AS varchar[]), CAST(:bals AS bigint[])) AS v(tid, bal) WHERE a.tenant_id = v.tid"
)


def columns(rows: list[dict], names: tuple[str, ...]) -> dict[str, list]:
    """Row dicts → one list per column (the arrays the statements above take)."""
    return {name: [row[name] for row in rows] for name in names}


def transposed(rows: list[tuple], names: tuple[str, ...]) -> dict[str, list]:
    """Row tuples (in the order of `names`) → one list per column."""
    return {name: list(column) for name, column in zip(names, zip(*rows, strict=True), strict=True)}


def now() -> datetime:
    return utcnow()
