"""Password reset requests are worked off after the answer, so that it takes as long for any address.

Whether an address belongs to a login decides whether a link is written and an event staged; done
before answering, that work showed in the response time (12.7 ms for a known address against 7.9 ms
for an unknown one). The route only queues the address; one worker per process does the rest. A
request still queued when the process stops is lost: the user asks again (the answer promised no
mail), as when the queue is full.
"""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Counter

from services.gateway import keys, password_reset

log = structlog.get_logger(__name__)
DROPPED = Counter("password_reset_requests_dropped_total", "Password reset requests dropped: the queue was full")


class ResetRequests:
    def __init__(self, *, db, settings, max_queued: int = 1000) -> None:
        self.db = db
        self.settings = settings
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(max_queued)

    def submit(self, *, email: str, locale: str) -> None:
        try:
            self._queue.put_nowait((email, locale))
        except asyncio.QueueFull:
            DROPPED.inc()

    async def run(self) -> None:
        while True:
            email, locale = await self._queue.get()
            try:
                await self.handle(email=email, locale=locale)
            except Exception as exc:  # the database was away: like a lost mail, the user asks again
                log.warning("password_reset.request_failed", error=repr(exc))

    async def handle(self, *, email: str, locale: str) -> None:
        async with self.db.transaction() as session:
            await password_reset.request_reset(
                session,
                email=email,
                locale=locale,
                ttl_s=self.settings.password_reset_ttl_s,
                key=keys.derived_key(self.settings, password_reset.KEY_PURPOSE),
            )
