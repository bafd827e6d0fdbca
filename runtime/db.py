"""Async database access: one engine per service, its own PostgreSQL schema (or SQLite file)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def async_url(url: str) -> str:
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def insert_on_conflict(session: AsyncSession, table):
    """An INSERT offering `on_conflict_do_nothing/do_update` in the session's dialect (PostgreSQL, SQLite)."""
    return (postgresql if session.bind.dialect.name == "postgresql" else sqlite).insert(table)


class Database:
    """Engine, sessions and transactions. `async with db.transaction() as s:` commits or rolls back."""

    def __init__(self, url: str, schema: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.schema = schema
        self.postgres = is_postgres(self.url)
        self.engine: AsyncEngine = self._make_engine(pool_size)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._after_commit: list = []

    def after_commit(self, callback) -> None:
        """Run `callback()` after a committed `transaction()` that staged outbox events (the relay's wake-up)."""
        self._after_commit.append(callback)

    def _make_engine(self, pool_size: int) -> AsyncEngine:
        if self.postgres:
            return create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                connect_args={"server_settings": {"search_path": self.schema}},
            )
        path = make_url(self.url).database
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_async_engine(self.url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - sqlite only
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine

    async def ensure_schema(self) -> None:
        if not self.postgres:
            return
        admin = create_async_engine(self.url)
        try:
            async with admin.begin() as conn:
                # CREATE SCHEMA IF NOT EXISTS is not safe under concurrency (two replicas starting
                # together: one fails on pg_namespace's unique index): serialize on an advisory lock.
                await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"schema:{self.schema}"})
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        finally:
            await admin.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session
            staged = session.info.pop("outbox_staged", False)
        if staged:
            self.committed_events()

    def committed_events(self) -> None:
        """Tell the outbox relay that a transaction committed events (done by `transaction()` itself)."""
        for callback in self._after_commit:
            callback()

    async def warm(self, connections: int) -> None:
        """Open up to `connections` pooled connections now, before traffic, instead of under the first
        load (connect and dialect set-up: with gc.freeze(), the first second at 200 requests/s had
        p99 113 ms without this and 26–54 ms with it)."""
        if not self.postgres:
            return
        connections = min(connections, self.engine.pool.size())  # what the pool keeps
        if connections <= 0:
            return
        opened = [self.engine.connect() for _ in range(connections)]
        try:
            await asyncio.gather(*(conn.start() for conn in opened))
        finally:
            await asyncio.gather(*(conn.close() for conn in opened), return_exceptions=True)

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
