"""Reading billing's ledger straight from PostgreSQL: what was debited, how often, and when."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

import psycopg

USAGE_TOTALS = """
SELECT count(*), count(DISTINCT reference), coalesce(sum(amount_cents), 0)
FROM "{schema}".ledger_transactions WHERE kind = 'usage' AND tenant_id = ANY(%s)
"""
BALANCES = 'SELECT tenant_id, balance_cents FROM "{schema}".accounts WHERE tenant_id = ANY(%s)'
ENTRY_SUM = 'SELECT coalesce(sum(amount_cents), 0) FROM "{schema}".ledger_entries'


@dataclass(frozen=True)
class Debits:
    rows: int  # usage transactions written
    distinct: int  # distinct usage ids among them
    total_cents: int  # their sum (negative)
    balances: dict[str, int]
    entries_sum: int  # double entry: always 0

    @property
    def doubled(self) -> int:
        return self.rows - self.distinct


async def debits(database_url: str, schema: str, tenants: list[str]) -> Debits:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        rows, distinct, total = await (await conn.execute(USAGE_TOTALS.format(schema=schema), [tenants])).fetchone()
        balances = dict(await (await conn.execute(BALANCES.format(schema=schema), [tenants])).fetchall())
        entries_sum = (await (await conn.execute(ENTRY_SUM.format(schema=schema))).fetchone())[0]
    return Debits(rows, distinct, int(total), balances, int(entries_sum))


@dataclass
class DebitSampler:
    """Samples the number of debits every `interval` seconds, to find how long debiting stalled."""

    database_url: str
    schema: str
    tenants: list[str]
    interval: float = 0.02
    samples: list[tuple[float, int]] = field(default_factory=list)
    _task: asyncio.Task | None = None

    async def __aenter__(self) -> DebitSampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        query = (
            f"SELECT count(*) FROM \"{self.schema}\".ledger_transactions WHERE kind = 'usage' AND tenant_id = ANY(%s)"
        )
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as conn:
            while True:
                count = (await (await conn.execute(query, [self.tenants])).fetchone())[0]
                self.samples.append((time.monotonic(), count))
                await asyncio.sleep(self.interval)

    def largest_stall(self, *, until_count: int) -> tuple[float, float]:
        """(seconds, started at): the longest time the count did not grow while work was left."""
        worst, worst_at, last_change = 0.0, 0.0, None
        previous = None
        for at, count in self.samples:
            if previous is None or count != previous:
                last_change, previous = at, count
                continue
            if 0 < count < until_count and at - last_change > worst:
                worst, worst_at = at - last_change, last_change
        return worst, worst_at


def usage_body(usage_id: str, tenant_id: str, cents: int) -> bytes:
    return json.dumps(
        {
            "id": usage_id,
            "tenant_id": tenant_id,
            "amount_cents": cents,
            "quantity": 1,
            "unit": "minute",
            "description": "call",
            "occurred_at": "2026-11-26T10:00:00Z",
        }
    ).encode()


def tenants(n: int) -> list[str]:
    return [f"ten_{uuid.uuid4().hex[:16]}" for _ in range(n)]
