"""What replicas share in PostgreSQL: the period claim of periodic jobs, and starting together."""

from __future__ import annotations

import asyncio
import uuid

from runtime.db import Database
from runtime.inbox import claim_period
from runtime.migrations import upgrade
from services.billing.app import MIGRATIONS


async def test_claim_period_is_won_once_per_job_and_period_by_concurrent_replicas(database_url, new_schema):
    schema = new_schema("claims")
    replicas = [Database(database_url, schema, pool_size=10) for _ in range(2)]
    await upgrade(replicas[0], MIGRATIONS)

    async def attempt(db: Database, job: str, period: str, holder: str) -> bool:
        async with db.transaction() as session:
            return await claim_period(session, job=job, period=period, holder=holder)

    jobs = [
        (job, period)
        for job in ("autotopup-monitor", "monthly-statements")
        for period in ("2026-10", "2026-11", "2026-11-26T10:05")
    ]
    try:
        attempts = [
            (job, period, attempt(db, job, period, f"replica-{r}-worker-{w}"))
            for job, period in jobs
            for r, db in enumerate(replicas)
            for w in range(15)
        ]
        results = await asyncio.gather(*(coro for *_, coro in attempts))
    finally:
        for db in replicas:
            await db.dispose()
    wins: dict[tuple[str, str], int] = dict.fromkeys(jobs, 0)
    for (job, period, _), won in zip(attempts, results, strict=True):
        wins[(job, period)] += won
    assert wins == dict.fromkeys(jobs, 1)  # 30 concurrent attempts each, from two engines: one winner


async def test_replicas_starting_together_on_a_fresh_database_all_come_up(database_url, created_schemas):
    """Four replicas creating their schema and migrating it at the same moment (CREATE SCHEMA IF NOT
    EXISTS alone fails on a race: a duplicate key in pg_namespace)."""
    for _ in range(3):
        schema = f"start_{uuid.uuid4().hex[:10]}"
        created_schemas.append(schema)
        replicas = [Database(database_url, schema) for _ in range(4)]
        try:
            results = await asyncio.gather(*(upgrade(db, MIGRATIONS) for db in replicas), return_exceptions=True)
        finally:
            for db in replicas:
                await db.dispose()
        assert [r for r in results if isinstance(r, BaseException)] == []
