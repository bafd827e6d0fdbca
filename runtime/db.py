"""Async database access: one engine per service, in its own PostgreSQL schema.

PostgreSQL is the only engine (docs/architecture.md): every money rule leans on its row locks
(`FOR UPDATE`, `SKIP LOCKED`), `timestamptz` and `ON CONFLICT`, so there is one set of queries and one
concurrency design from laptop to production.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import QueuePool

_BEGIN = text("SELECT 1")
COPY_FROM = 64  # rows: from here on a batch is worth COPY's second round trip (services/billing/repository.py)


async def copy_rows(session: AsyncSession, table: str, columns: Sequence[str], records: Iterable[Sequence]) -> None:
    """`COPY table (columns) FROM STDIN` (binary) of `records` in the session's transaction: a batch of
    rows at a fraction of the CPU of `INSERT … SELECT FROM unnest(arrays)`, on both sides (asyncpg
    checks every element of an array parameter for nesting; COPY encodes each value once and the
    server skips the executor). For plain inserts only: no `ON CONFLICT`, no `RETURNING`. `table` is
    unqualified (the service's schema is the connection's search_path) and, as every statement's
    text here, never comes from input."""
    driver = await _driver_in_transaction(session)
    await driver.copy_records_to_table(table, records=records, columns=columns)


async def fetch_records(session: AsyncSession, sql: str, *args) -> list:
    """asyncpg's records of one statement in the session's transaction, without SQLAlchemy's result
    rows (a row's attribute access cost the outbox relay a microsecond per event). `sql` is constant
    text with `$n` parameters."""
    driver = await _driver_in_transaction(session)
    return await driver.fetch(sql, *args)


async def _driver_in_transaction(session: AsyncSession):
    """The session's asyncpg connection, its transaction begun (SQLAlchemy's adapter begins lazily, at
    its first statement)."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None, "a checked-out connection has its driver connection"
    if not driver.is_in_transaction():
        await session.execute(_BEGIN)
    return driver


class UnsupportedDatabase(ValueError):
    """DATABASE_URL names another engine than PostgreSQL (refused at start-up)."""


def async_url(url: str) -> str:
    """The asyncpg form of a PostgreSQL URL; any other engine is refused with a clear message."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnsupportedDatabase(f"DATABASE_URL is not a database URL: {exc}") from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise UnsupportedDatabase(
            f"DATABASE_URL must point at PostgreSQL (postgresql://user@host:5432/db), not {parsed.drivername!r}: "
            "the product runs on PostgreSQL only; `make run` starts a private one under var/pg/"
        )
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


class Database:
    """Engine, sessions and transactions. `async with db.transaction() as s:` commits or rolls back."""

    def __init__(self, url: str, schema: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.schema = schema
        self.engine: AsyncEngine = self._make_engine(pool_size)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # The same pool, each statement committed on its own (`reads`).
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._after_commit: list = []

    def after_commit(self, callback) -> None:
        """Run `callback()` after a committed `transaction()` that staged outbox events (the relay's wake-up)."""
        self._after_commit.append(callback)

    def _make_engine(self, pool_size: int) -> AsyncEngine:
        return create_async_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"server_settings": {"search_path": self.schema}},
        )

    async def ensure_schema(self) -> None:
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
    async def reads(self) -> AsyncIterator[asyncpg.Connection]:
        """The driver's own connection, from the pool, for read-only statements each of which is its own
        snapshot: no transaction (no BEGIN and ROLLBACK round trips), no ORM session, no statement
        compilation — the balance and the dashboard, asked for on every portal and API view."""
        async with self._autocommit.connect() as conn:
            yield _driver(await conn.get_raw_connection())

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

    async def warm(self, connections: int | None = None, *, reads: Sequence[tuple[str, tuple]] = ()) -> None:
        """Open the pool's connections now (all it keeps, or `connections`), before traffic, instead of
        under the first load, and run each of `reads` (SQL and arguments, as `reads()` runs them) on
        each: connect and dialect set-up, and each statement's preparation on each connection (with
        gc.freeze(), the first second at 200 requests/s had p99 113 ms without warm connections and
        26–54 ms with 4 of the 10; under the first burst billing still opened 5 more, 88 ms at worst in
        that second). `reads` must be read-only statements that change nothing whatever their arguments."""
        pool = self.engine.pool
        kept = pool.size() if isinstance(pool, QueuePool) else 0
        connections = kept if connections is None else min(connections, kept)
        if connections <= 0:
            return
        opened = [self._autocommit.connect() for _ in range(connections)]
        try:
            await asyncio.gather(*(self._warm_one(conn, reads) for conn in opened))
        finally:
            await asyncio.gather(*(conn.close() for conn in opened), return_exceptions=True)

    @staticmethod
    async def _warm_one(conn: AsyncConnection, reads: Sequence[tuple[str, tuple]]) -> None:
        await conn.start()
        driver = _driver(await conn.get_raw_connection())
        for sql, args in reads:
            await driver.fetch(sql, *args)

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def _driver(pooled) -> asyncpg.Connection:
    """asyncpg's connection under SQLAlchemy's pooled one."""
    driver = pooled.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver
