"""Gap-free document numbers: `RE-2026-000001` (invoices), `KR-…` (credit notes), `KA-…` (statements).

Design: **lock → render → store → commit**, all inside ONE transaction per batch:

1. lock the series' counter row (`SELECT … FOR UPDATE`, created on first use);
2. skip the sources that already have an issued document (idempotency; the unique constraint
   `(kind, source_key)` is the backstop);
3. give the drafts `last + 1 …`, render them with their numbers printed (concurrently: in
   parallel with `DOCUMENTS_RENDER_PROCESSES` > 0), store the bytes under fresh keys;
4. write the document rows, the new counter value and the outgoing events (outbox), commit.

A number therefore exists only in the transaction that also makes its document final: when
rendering or storing fails, or the process dies anywhere before the commit, the transaction
rolls back, the counter is unchanged and the next attempt gets the same number (only an
unreferenced stored object may remain). Nothing is ever "reserved" and later abandoned, so no
gap can arise and no recovery job is needed to fill one. The alternative, reserving a number in
its own transaction and rendering afterwards, would need a recovery job to finish every
reserved-but-unrendered number and assigns numbers to documents that are not final yet.

Cost: the counter lock is held while a batch renders (~0.13 s per document warm, plus ~15 ms
to store and commit), so one series issues one batch at a time, across all replicas. Within a
batch (consumers fetch up to 20 events) the renders run in parallel over the render processes,
so a series scales with the cores of the replica holding the lock; with the default in-thread
renderer a replica renders one document at a time, which is what the renderer's per-process
lock allows anyway. The three series lock independently. Figures: bench/bench_documents.py.

The year of a number is the issue date's year in `TIMEZONE`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.documents.tables import counters

SERIES = {"invoice": "RE", "credit_note": "KR", "statement": "KA"}


def format_number(series: str, year: int, number: int) -> str:
    return f"{series}-{year}-{number:06d}"


async def lock_counter(session: AsyncSession, *, series: str, year: int) -> int:
    """Lock the counter of (series, year) until the transaction ends; answer its last number."""
    await session.execute(pg_insert(counters).values(series=series, year=year, last_number=0).on_conflict_do_nothing())
    query = (
        sa.select(counters.c.last_number).where(counters.c.series == series, counters.c.year == year).with_for_update()
    )
    return (await session.execute(query)).scalar_one()


async def save_counter(session: AsyncSession, *, series: str, year: int, last_number: int) -> None:
    await session.execute(
        sa.update(counters).where(counters.c.series == series, counters.c.year == year).values(last_number=last_number)
    )
