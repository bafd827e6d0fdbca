"""Alembic, programmatically: one migration history per service, in that service's schema.

Each service's `migrations/env.py` is two lines (`from runtime.migrations import run_env; run_env()`).
Several replicas migrating at once serialize on a PostgreSQL advisory lock.
"""

from __future__ import annotations

from alembic import command, context
from alembic.config import Config
from sqlalchemy import text

from runtime.db import Database


def _config(script_location: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    return cfg


def _upgrade(sync_conn, script_location: str, revision: str, schema: str) -> None:
    sync_conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"migrate:{schema}"})
    cfg = _config(script_location)
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


async def upgrade(db: Database, script_location: str, revision: str = "head") -> None:
    await db.ensure_schema()
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade, script_location, revision, db.schema)


def run_env() -> None:
    """Body of every service's Alembic env.py: migrate on the connection the caller handed over."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `python -m services.<name> migrate`")
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
