"""Transactional outbox: events are rows written in the same transaction as the state they describe.

`OutboxRelay` publishes them to JetStream with `Nats-Msg-Id = event_id` (JetStream drops a duplicate
inside the stream's duplicate window), then deletes them. A crash between publish and delete only
causes a re-publish that JetStream de-duplicates, and the consumers' inbox catches anything older.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from itertools import repeat
from operator import itemgetter

import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from runtime.aio import wait_set
from runtime.bulk_publish import BulkPublisher
from runtime.db import Database, copy_rows, fetch_records
from runtime.tables import outbox

log = structlog.get_logger(__name__)

PUBLISHED = Counter("outbox_published_total", "Events published from the outbox", ["service"])
BACKLOG = Gauge("outbox_backlog", "Events waiting in the outbox", ["service"])
PUBLISH_TIMEOUT_S = 5.0
_INSERT_ROWS = text(
    "INSERT INTO outbox (event_id, subject, payload, created_at) SELECT e, s, p, :now FROM "
    "unnest(CAST(:e AS varchar[]), CAST(:s AS varchar[]), CAST(:p AS bytea[])) AS r(e, s, p)"
)
# The oldest rows no other replica holds (SKIP LOCKED), deleted in the relay's transaction: a round that
# fails rolls back and leaves them; RETURNING has no order of its own, so the rows are sorted by id.
_TAKE_ROWS = (
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) "
    "RETURNING id, subject, payload, event_id"
)
PUBLISH_ERRORS = Counter("outbox_publish_errors_total", "Failed outbox publish rounds", ["service"])


_row_id = itemgetter(0)


def _subject(event) -> str:
    return event.subject_for() if hasattr(event, "subject_for") else event.subject


def _event_id(event) -> str:
    return event.event_id


COPY_FROM = 64  # rows: from here on a staged batch is written with COPY (below: one INSERT round trip)


class Staged:
    """Outbox rows gathered for one transaction, as columns: event id, subject, payload.

    `event()` serializes a message; `serialized()` takes one a hot path has serialized itself (the
    ledger's per-debit `transaction.created`, services/billing/events.py), so that no model is built
    per debit only to be dumped."""

    __slots__ = ("event_ids", "payloads", "subjects")

    def __init__(self) -> None:
        self.event_ids: list[str] = []
        self.subjects: list[str] = []
        self.payloads: list[bytes] = []

    def event(self, event) -> None:
        self.event_ids.append(_event_id(event))
        self.subjects.append(_subject(event))
        self.payloads.append(event.model_dump_json().encode())

    def serialized(self, event_id: str, subject: str, payload: bytes) -> None:
        self.event_ids.append(event_id)
        self.subjects.append(subject)
        self.payloads.append(payload)

    def __len__(self) -> int:
        return len(self.event_ids)


async def add(session: AsyncSession, events: Iterable) -> None:
    """Stage events in the caller's transaction. Nothing is sent unless that transaction commits."""
    staged = Staged()
    for e in events:
        staged.event(e)
    await add_staged(session, staged)


async def add_staged(session: AsyncSession, staged: Staged) -> None:
    """Write gathered rows in the caller's transaction (rows keep the order they were gathered in)."""
    if not staged:
        return
    now = utcnow()
    if len(staged) >= COPY_FROM:
        await copy_rows(
            session,
            "outbox",
            ("event_id", "subject", "payload", "created_at"),
            zip(staged.event_ids, staged.subjects, staged.payloads, repeat(now), strict=False),
        )
    else:  # one constant statement taking arrays, whatever the batch size
        await session.execute(
            _INSERT_ROWS, {"e": staged.event_ids, "s": staged.subjects, "p": staged.payloads, "now": now}
        )
    session.info["outbox_staged"] = True


class OutboxRelay:
    """Publishes committed outbox rows; `wake()` after a commit makes it publish at once."""

    def __init__(self, db: Database, js, *, service: str, batch_size: int = 500, poll_s: float = 1.0):
        self.db = db
        self.js = js
        self.service = service
        self.batch_size = batch_size
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._publisher: BulkPublisher | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.1
        while not self._stopping:
            self._wake.clear()  # before the round: a commit during the round wakes the next one
            try:
                sent = await self.publish_pending()
                backoff = 0.1
            except Exception as exc:
                PUBLISH_ERRORS.labels(self.service).inc()
                log.warning("outbox.publish_failed", error=str(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if sent >= self.batch_size:
                continue
            await wait_set(self._wake, self.poll_s)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def flush(self) -> None:
        """Publish everything committed so far (on shutdown, after the consumers stopped)."""
        while await self.publish_pending() >= self.batch_size:
            pass

    async def publish_pending(self) -> int:
        """One round: claim a batch (skipping rows another replica holds), publish, delete."""
        async with self.db.transaction() as session:
            # claimed and deleted in one statement; the deletion commits only once all are published
            rows = sorted(await fetch_records(session, _TAKE_ROWS, self.batch_size), key=_row_id)
            if not rows:
                BACKLOG.labels(self.service).set(0)
                return 0
            await self._publish_all(rows)
        PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _publish_all(self, rows) -> None:
        """Publish every row and wait for all PubAcks (any failure or a timeout fails the round): one
        write for the round and its PubAcks counted on one subscription (`runtime.bulk_publish`)."""
        if self._publisher is None:
            self._publisher = BulkPublisher(self.js._nc)
        await self._publisher.publish([r[1:] for r in rows], timeout=PUBLISH_TIMEOUT_S)  # (subject, payload, id)

    async def backlog(self) -> int:
        async with self.db.sessions() as session:
            count = (await session.execute(select(func.count()).select_from(outbox))).scalar_one()
        BACKLOG.labels(self.service).set(count)
        return count
