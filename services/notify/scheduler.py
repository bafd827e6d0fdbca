"""The delivery scheduler: claims due jobs and sends them concurrently, bounded per channel and per
webhook endpoint, so a slow channel or endpoint never holds up the others.

`wake(channels)` after new jobs are committed makes it claim those channels at once; otherwise it
sleeps until its own next retry is due, or `poll_s` (jobs other replicas scheduled, leases that ran
out), and then looks at every channel.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable

import structlog
from prometheus_client import Counter as Metric
from prometheus_client import Histogram

from contracts.base import utcnow
from runtime.aio import wait_set
from runtime.db import Database
from services.notify.channels.result import DeliveryResult, Outcome
from services.notify.claims import Want, claim
from services.notify.delivery import Deliveries
from services.notify.delivery_log import RetryPolicy
from services.notify.jobs import Claimed
from services.notify.recorder import Recorder

log = structlog.get_logger(__name__)
ATTEMPTS = Metric("notify_attempts_total", "Delivery attempts", ["channel", "outcome"])
LATENCY = Histogram(
    "notify_first_attempt_seconds",
    "Event to first attempt",
    ["channel"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60),
)
STOP_GRACE_S = 5.0


class Scheduler:
    def __init__(
        self,
        *,
        db: Database,
        make_deliveries: Callable[[], Deliveries],
        policy: RetryPolicy,
        limits: dict[str, int],
        per_endpoint: int,
        lease_s: float,
        poll_s: float,
    ) -> None:
        self.db, self.limits = db, limits
        self._recorder = Recorder(db, policy)
        self._make_deliveries, self._per_endpoint = make_deliveries, per_endpoint
        self._lease_s, self._poll_s = lease_s, poll_s
        self._wake = asyncio.Event()
        self._in_flight: Counter[str] = Counter()
        self._per_target: Counter[str] = Counter()
        self._starved: set[str] = set()  # channels that left due jobs behind in their last round
        self._wanted: set[str] = set(limits)  # channels to claim in the next round
        self._tasks: set[asyncio.Task] = set()
        self._next_due: float | None = None  # loop time of our own earliest retry

    def wake(self, channels: Iterable[str] | None = None) -> None:
        self._wanted.update(self.limits if channels is None else channels)
        self._wake.set()

    async def run(self) -> None:
        channels = self._make_deliveries()
        recorder = asyncio.create_task(self._recorder.run(), name="notify-recorder")
        try:
            while True:
                self._wake.clear()
                try:
                    await self._round(channels)
                except Exception as exc:  # the database is away: try again at the next poll
                    log.warning("notify.claim_failed", error=repr(exc))
                if not await wait_set(self._wake, self._sleep_s()):
                    self._wanted.update(self.limits)
        finally:
            await self._finish()
            recorder.cancel()
            await channels.aclose()

    def _sleep_s(self) -> float:
        loop_now = asyncio.get_running_loop().time()
        if self._next_due is not None and self._next_due <= loop_now + self._poll_s:
            sleep, self._next_due = max(0.0, self._next_due - loop_now), None
            return sleep
        return self._poll_s

    async def _round(self, channels: Deliveries) -> None:
        wanted, self._wanted = self._wanted, set()
        self._starved -= wanted
        wants = []
        for channel in wanted:
            free = self.limits[channel] - self._in_flight[channel]
            if free <= 0:
                self._starved.add(channel)
            elif channel == "webhook":
                wants.append(Want(channel, free, self._per_endpoint, dict(self._per_target)))
            else:
                wants.append(Want(channel, free))
        if not wants:
            return
        claimed = await claim(self.db, wants, lease_s=self._lease_s)
        for want in wants:
            taken = sum(1 for item in claimed if item.job.channel == want.channel)
            if taken >= want.limit or want.in_flight:
                self._starved.add(want.channel)  # more may be due: claim again when a slot frees up
        for item in claimed:
            self._start(channels, item)

    def _start(self, channels: Deliveries, item: Claimed) -> None:
        self._in_flight[item.job.channel] += 1
        if item.job.channel == "webhook":
            self._per_target[item.job.target] += 1
        task = asyncio.create_task(self._send(channels, item), name=f"deliver-{item.job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, channels: Deliveries, item: Claimed) -> None:
        job = item.job
        try:
            result = await self._attempt(channels, item)
        finally:
            self._done(job.channel, job.target)  # the slot is free once the peer answered
        try:
            status, delay = await self._recorder.record(job, result)
        except Exception as exc:  # recording failed: the lease runs out and the job is sent again
            log.warning("notify.record_failed", job=job.id, error=repr(exc))
            return
        if status == "pending":
            self._remember_retry(delay)

    async def _attempt(self, channels: Deliveries, item: Claimed) -> DeliveryResult | None:
        job = item.job
        if job.attempts == 0:
            LATENCY.labels(job.channel).observe((utcnow() - job.created_at).total_seconds())
        try:
            result = await channels.deliver(item)
        except Exception as exc:  # a bug or an unexpected peer answer: retry on the schedule
            log.exception("notify.send_crashed", job=job.id, channel=job.channel)
            result = DeliveryResult(Outcome.RETRY, error=f"internal error: {type(exc).__name__}")
        if result is not None:
            ATTEMPTS.labels(job.channel, result.outcome.value).inc()
        return result

    def _remember_retry(self, delay: float) -> None:
        due = asyncio.get_running_loop().time() + delay
        if self._next_due is None or due < self._next_due:
            self._next_due = due
            self._wake.set()  # recompute the sleep

    def _done(self, channel: str, target: str) -> None:
        self._in_flight[channel] -= 1
        if channel == "webhook":
            self._per_target[target] -= 1
            if self._per_target[target] <= 0:
                del self._per_target[target]
        if channel in self._starved:
            self._starved.discard(channel)
            self.wake([channel])

    async def _finish(self) -> None:
        """On stop: let attempts in flight finish briefly; the rest are sent again after their lease."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
