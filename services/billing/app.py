"""Composition root of the billing service: settings → database, broker, handlers, jobs."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog

from runtime.db import Database
from runtime.messaging import make_broker
from runtime.service import Service
from services.billing import handlers, reservations
from services.billing.autotopup import wiring as autotopup_wiring
from services.billing.config import BillingSettings

log = structlog.get_logger(__name__)
MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: BillingSettings | None = None) -> Service:
    settings = settings or BillingSettings()
    db = Database(settings.resolved_database_url(), settings.schema, pool_size=settings.db_pool_size)
    broker = make_broker(settings, name="billing")
    consumers: list = []
    handlers.register(broker, consumers, db=db, settings=settings)
    autotopup_wiring.configure(db, settings)

    async def expire_holds_job() -> None:
        while True:
            await asyncio.sleep(settings.hold_sweep_s)
            with contextlib.suppress(Exception):
                await reservations.expire_holds(db=db)

    jobs = [expire_holds_job, autotopup_wiring.job(db, settings)]
    return Service(settings=settings, db=db, broker=broker, migrations=MIGRATIONS, jobs=jobs,
                   consumers=consumers)
