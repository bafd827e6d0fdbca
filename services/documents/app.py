"""Composition root of the documents service: settings → database, store, renderer, handlers, jobs."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path

import structlog

from contracts.base import utcnow
from runtime.calendar import Calendar
from runtime.db import Database
from runtime.messaging import make_broker
from runtime.service import Service
from services.documents import handlers, profiles, statements
from services.documents.config import DocumentsSettings
from services.documents.context import Deps
from services.documents.datev import DatevConfig
from services.documents.issuing import Issuer
from services.documents.render_pool import Renderer, make_renderer
from services.documents.store import DocumentStore, open_store

log = structlog.get_logger(__name__)
MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(
    settings: DocumentsSettings | None = None,
    *,
    renderer: Renderer | None = None,
    store: DocumentStore | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Service:
    settings = settings or DocumentsSettings()
    db = Database(settings.resolved_database_url(), settings.schema, pool_size=settings.db_pool_size)
    broker = make_broker(settings, name="documents")
    renderer = renderer or make_renderer(settings.documents_render_processes)
    deps = Deps(
        db=db,
        issuer=Issuer(renderer=renderer, store=store or open_store(settings)),
        seller=profiles.seller(settings),
        calendar=Calendar(settings.timezone),
        nats=lambda: broker.connection,
        billing_timeout_s=settings.billing_timeout_s,
        clock=clock,
        datev=DatevConfig.from_settings(settings),
    )
    background: set[asyncio.Task] = set()

    def spawn(coro: Coroutine) -> None:
        task = asyncio.create_task(_logged(coro))
        background.add(task)
        task.add_done_callback(background.discard)

    consumers: list = []
    handlers.register(broker, consumers, deps=deps, spawn=spawn)
    holder = f"{socket.gethostname()}:{os.getpid()}"

    async def renderer_job() -> None:
        """Warms the renderer up at start and releases its worker processes at stop."""
        try:
            await renderer.warm_up()
            await asyncio.Event().wait()
        finally:
            renderer.close()

    async def monthly_statements_job() -> None:
        """After each month ends, one replica opens the previous month's statements for all tenants."""
        while True:
            await _logged(statements.open_month_for_all(deps=deps, holder=holder))
            await asyncio.sleep(settings.statement_job_s)

    async def pending_statements_job() -> None:
        """Completes statements left pending (a crash, billing briefly unavailable, the monthly job)."""
        while True:
            await asyncio.sleep(settings.pending_sweep_s)
            for document_id in (
                await _logged(statements.pending_ids(deps=deps, older_than_s=settings.pending_grace_s)) or []
            ):
                await _logged(statements.complete(deps=deps, document_id=document_id))

    return Service(
        settings=settings,
        db=db,
        broker=broker,
        migrations=MIGRATIONS,
        consumers=consumers,
        jobs=[renderer_job, monthly_statements_job, pending_statements_job],
    )


async def _logged(coro: Coroutine):
    try:
        return await coro
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("documents.background_failed", error=repr(exc))
        return None
