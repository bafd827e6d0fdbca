"""`last_used_at` of API keys (or platform keys), written in batches (API.md allows it to lag up to a minute)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog

from runtime.tables import table_of
from services.gateway.tables import ApiKey, PlatformKey

log = structlog.get_logger(__name__)


class KeyUsage:
    def __init__(self, db, *, table: type[ApiKey | PlatformKey] = ApiKey, flush_s: float = 30.0) -> None:
        self.db = db
        self.table = table_of(table)
        self.flush_s = flush_s
        self._seen: dict[str, datetime] = {}

    def touch(self, prefix: str) -> None:
        self._seen[prefix] = datetime.now(UTC)

    async def flush(self) -> None:
        seen, self._seen = self._seen, {}
        if not seen:
            return
        table = self.table
        stmt = sa.update(table).where(table.c.prefix == sa.bindparam("p")).values(last_used_at=sa.bindparam("t"))
        async with self.db.transaction() as session:
            await session.execute(
                stmt, [{"p": p, "t": t} for p, t in seen.items()], execution_options={"synchronize_session": False}
            )

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.flush_s)
                try:
                    await self.flush()
                except Exception as exc:
                    log.warning("key_usage.flush_failed", error=repr(exc))
        finally:
            with contextlib.suppress(Exception):
                await self.flush()
