"""Group the results of concurrent attempts into one transaction each round: one commit for many
attempts keeps the database's load flat however many deliveries run at once."""

from __future__ import annotations

import asyncio

import structlog

from runtime.db import Database
from services.notify.channels.result import DeliveryResult
from services.notify.delivery_log import RetryPolicy, record_many
from services.notify.jobs import Job

log = structlog.get_logger(__name__)


class Recorder:
    def __init__(self, db: Database, policy: RetryPolicy, *, max_batch: int = 200) -> None:
        self.db, self.policy, self.max_batch = db, policy, max_batch
        self._queue: asyncio.Queue[tuple[Job, DeliveryResult | None, asyncio.Future]] = asyncio.Queue()

    async def record(self, job: Job, result: DeliveryResult | None) -> tuple[str, float]:
        """(new status, seconds until the next attempt) once the result is committed."""
        done = asyncio.get_running_loop().create_future()
        await self._queue.put((job, result, done))
        return await done

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < self.max_batch:
                batch.append(self._queue.get_nowait())
            await self._flush(batch)

    async def _flush(self, batch: list) -> None:
        try:
            answers = await record_many(self.db, [(job, result) for job, result, _ in batch], self.policy)
        except Exception as exc:  # the leased jobs are sent again when their lease ends
            log.warning("notify.record_failed", size=len(batch), error=repr(exc))
            for *_, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for (*_, done), answer in zip(batch, answers, strict=True):
            if not done.done():
                done.set_result(answer)
