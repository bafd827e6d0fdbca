"""Documents benchmark: render + store one invoice, and issue invoices through the numbering path.

    .venv/bin/python bench/bench_documents.py [--renders 30] [--issues 40] [--database-url URL]

1. render + store: a one-page invoice (PDF/A-3b + factur-x.xml) rendered warm in-process and
   both files written to a local store (atomic write with fsync); wall-clock and CPU medians.
2. issue: with PostgreSQL (DATABASE_URL, or the local server tests use), invoices issued through
   `issuing.issue` exactly as the service does (lock the counter row, render, store, insert,
   outbox, commit) in a throwaway schema, one by one with the in-thread renderer and in batches
   of 20 with a pool of render processes: invoices per second for one series and the time the
   counter lock is held.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.db import Database
from runtime.migrations import upgrade
from services.documents.app import MIGRATIONS
from services.documents.issuing import Draft, Issuer, issue
from services.documents.render_pool import ProcessRenderer, Renderer
from services.documents.rendering import samples
from services.documents.store import LocalStore

TARGET_MS = 150


async def render_and_store(renders: int, store: LocalStore) -> tuple[list[float], list[float], list[float]]:
    renderer = Renderer()
    await renderer.warm_up()
    for _ in range(3):
        renderer.render_sync(samples.invoice())
    wall, cpu, storing = [], [], []
    for i in range(renders):
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        document = renderer.render_sync(samples.invoice(number=f"RE-2026-{i:06d}"))
        rendered = time.perf_counter()
        await store.put(f"bench/{i}-{uuid.uuid4().hex}.pdf", document.pdf)
        await store.put(f"bench/{i}-{uuid.uuid4().hex}.xml", document.xml)
        wall.append((time.perf_counter() - started_wall) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        storing.append((time.perf_counter() - rendered) * 1000)
    return wall, cpu, storing


async def issue_batches(
    database_url: str, count: int, batch: int, renderer: Renderer, store: LocalStore
) -> tuple[float, float]:
    """Answers (invoices per second, median time the counter lock is held per batch in ms)."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    db = Database(database_url, schema)
    issuer = Issuer(renderer=renderer, store=store)
    try:
        await upgrade(db, MIGRATIONS)
        await renderer.warm_up()
        held = []
        started = time.perf_counter()
        for first in range(0, count, batch):
            drafts = [
                Draft(
                    tenant_id="ten_bench",
                    kind="invoice",
                    source_key=f"tp_{i}",
                    topup_id=f"tp_{i}",
                    build=lambda number: samples.invoice(number=number),
                )
                for i in range(first, min(first + batch, count))
            ]
            lock_started = time.perf_counter()
            async with db.transaction() as session:
                await issue(session, drafts, kind="invoice", issue_date=date(2026, 3, 14), issuer=issuer)
            held.append((time.perf_counter() - lock_started) * 1000)
        return count / (time.perf_counter() - started), statistics.median(held)
    finally:
        renderer.close()
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await db.dispose()


def _database_url(option: str | None) -> str | None:
    if option:
        return option
    from devtools.infra import postgres_url

    return postgres_url()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--issues", type=int, default=40)
    parser.add_argument("--processes", type=int, default=2, help="render processes for the batched run")
    parser.add_argument("--database-url")
    options = parser.parse_args()
    store = LocalStore(tempfile.mkdtemp(prefix="bench-documents-"))

    wall, cpu, storing = await render_and_store(options.renders, store)
    median = statistics.median(wall)
    verdict = "OK" if median < TARGET_MS else "MISSED"
    print(f"invoice render + store, {options.renders} warm runs (PDF/A-3b + XML, local store)")
    print(f"  wall  median {median:6.1f} ms   target < {TARGET_MS} ms: {verdict}")
    print(f"  cpu   median {statistics.median(cpu):6.1f} ms")
    print(f"  of the wall time, storing both files: median {statistics.median(storing):.1f} ms")
    url = _database_url(options.database_url)
    if url is None:
        print("  issue: skipped (no PostgreSQL)")
        return
    print(f"issue {options.issues} invoices through the counter lock (one series, PostgreSQL)")
    rate, held = await issue_batches(url, options.issues, 1, Renderer(), store)
    print(f"  one by one, in-thread renderer:    {rate:5.1f} invoices/s   lock held {held:6.1f} ms per invoice")
    rate, held = await issue_batches(url, options.issues, 20, ProcessRenderer(options.processes), store)
    print(
        f"  batches of 20, {options.processes} render processes: {rate:5.1f} invoices/s   "
        f"lock held {held:6.1f} ms per batch"
    )


if __name__ == "__main__":
    asyncio.run(main())
