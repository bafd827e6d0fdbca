"""Composition root of the billing service: settings → database, broker, handlers, jobs."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog

from runtime.db import Database
from runtime.messaging import make_broker
from runtime.service import Service
from services.billing import grant_expiry, handlers, queries, reservations
from services.billing.autotopup import wiring as autotopup_wiring
from services.billing.config import BillingSettings
from services.billing.deps import BillingDeps

log = structlog.get_logger(__name__)
MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: BillingSettings | None = None) -> Service:
    settings = settings or BillingSettings()
    db = Database(settings.resolved_database_url(), settings.schema, pool_size=settings.db_pool_size)
    broker = make_broker(settings, name="billing")
    deps = BillingDeps.from_settings(settings, db)  # what the use cases need, passed explicitly
    consumers: list = []
    handlers.register(broker, consumers, deps=deps, settings=settings)

    async def expire_holds_job() -> None:
        while True:
            await asyncio.sleep(settings.hold_sweep_s)
            with contextlib.suppress(Exception):
                await reservations.expire_holds(db=db)

    async def grant_expiry_job() -> None:  # every replica runs it: grant_expiry.py says why that is safe
        while True:
            await asyncio.sleep(settings.grant_sweep_s)
            try:
                await grant_expiry.run(deps=deps)
            except Exception:  # the next sweep tries again (the database may be away)
                log.warning("grant_sweep_failed", exc_info=True)

    jobs = [expire_holds_job, grant_expiry_job, autotopup_wiring.job(deps, settings.autotopup_monitor_s)]
    return Service(
        settings=settings,
        db=db,
        broker=broker,
        migrations=MIGRATIONS,
        jobs=jobs,
        consumers=consumers,
        warm_reads=queries.WARM_READS,
    )
