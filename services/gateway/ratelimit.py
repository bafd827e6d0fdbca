"""Fixed-window rate limits shared by every gateway replica through a NATS key-value bucket.

The counter for (caller, minute) is raised by compare-and-set on the key's revision, so no
increment is ever lost, and a request is allowed only if *its own* increment landed at or below the
limit: at most `limit` requests pass per window, however many replicas and concurrent requests.

Within one replica, the concurrent requests of one caller are counted together: one of them
drives the compare-and-set for all that wait (adding as many as still fit under the limit), so
only replicas, never requests, race for a key. A count read at or above the limit refuses without
writing (counts only grow within a window). A driver that keeps losing the race for
`contention_s` refuses its batch: contention is never a reason to let a request through.

Only when NATS is unreachable (not merely contended) does a replica count alone, in its own memory:
the limit then holds per replica (at most `limit` × replicas per window) instead of not at all, and
the gateway keeps serving the API keys and sessions that live in its database. While the connection
is known to be down (`connected`), it counts alone at once rather than wait out the bucket's timeout
on every request.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable

import structlog
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from prometheus_client import Counter

from services.gateway.api.errors import ApiError

log = structlog.get_logger(__name__)
BUCKET = "gateway_ratelimit"
REFUSED_UNDER_CONTENTION = Counter(
    "ratelimit_contention_refusals_total", "Requests refused because the shared counter stayed contended"
)
COUNTED_LOCALLY = Counter("ratelimit_local_fallback_total", "Requests counted per replica while NATS was unreachable")


class RateLimiter:
    def __init__(self, *, limit_per_minute: int, replicas: int = 1, contention_s: float = 2.0) -> None:
        self.limit = limit_per_minute
        self.replicas = replicas  # like the streams (NATS_STREAM_REPLICAS): the bucket survives a server loss
        self.contention_s = contention_s
        self.kv = None
        self._last: dict[str, tuple[int, int]] = {}  # key → (count, revision) this replica last wrote
        self._waiting: dict[str, list[asyncio.Future]] = {}  # key → requests its driver has yet to count
        self._drivers: set[asyncio.Task] = set()
        self._local: dict[str, int] = {}  # key → count, only while NATS is unreachable
        self._local_window = ""
        self.connected: Callable[[], bool] = lambda: True

    async def start(self, js, *, connected: Callable[[], bool] | None = None) -> None:
        self.connected = connected or self.connected
        try:
            self.kv = await js.key_value(BUCKET)
        except BucketNotFoundError:
            from nats.js.api import KeyValueConfig

            self.kv = await js.create_key_value(
                KeyValueConfig(bucket=BUCKET, ttl=180, history=1, replicas=self.replicas)
            )

    async def check(self, caller: str, *, limit: int | None = None) -> None:
        """Count one request of `caller`; 429 `rate_limited` beyond `limit` (default: the per-minute limit)."""
        limit = limit or self.limit
        key, retry_after = _window_key(caller)
        if self.kv is not None and not await self._admit(key, limit):
            raise ApiError(
                429, "rate_limited", f"more than {limit} requests per minute", {"Retry-After": str(retry_after)}
            )

    async def exceeded(self, caller: str, *, limit: int) -> bool:
        """Whether `caller` has used up `limit` in this window, without counting a request."""
        key, _ = _window_key(caller)
        if self.kv is None:
            return False
        try:
            self._reachable()
            count, _ = await self._read(key)
        except Exception as exc:
            log.warning("ratelimit.unavailable", error=repr(exc))
            count = self._local.get(key, 0)
        return count >= limit

    async def _admit(self, key: str, limit: int) -> bool:
        admitted = asyncio.get_running_loop().create_future()
        if key in self._waiting:  # another request of this caller is being counted: join its driver
            self._waiting[key].append(admitted)
        else:
            self._waiting[key] = [admitted]
            # A task of its own: a request that is cancelled must not strand the others it counts for.
            driver = asyncio.create_task(self._drive(key, limit), name="ratelimit")
            self._drivers.add(driver)
            driver.add_done_callback(self._drivers.discard)
        return await admitted

    async def _drive(self, key: str, limit: int) -> None:
        waiting = self._waiting[key]
        try:
            while waiting:
                batch = waiting[:]
                del waiting[:]
                try:
                    self._reachable()
                    granted = await self._increment_below(key, limit, len(batch))
                except Exception as exc:  # NATS unreachable, timed out, bucket gone: not contention
                    log.warning("ratelimit.unavailable", error=repr(exc))
                    granted = self._count_locally(key, limit, len(batch))
                for n, admitted in enumerate(batch):
                    if not admitted.done():
                        admitted.set_result(n < granted)
        finally:
            self._waiting.pop(key, None)
            for admitted in waiting:  # only if the driver itself failed unexpectedly
                if not admitted.done():
                    admitted.set_result(False)

    async def _increment_below(self, key: str, limit: int, wanted: int) -> int:
        """Add up to `wanted` to the shared count without passing `limit`; answer how many were added."""
        known = self._last.get(key)
        if known is not None:  # usually this replica wrote last: one round trip, no read
            if known[0] >= limit:
                return 0
            granted = min(wanted, limit - known[0])
            try:
                self._remember(
                    key, known[0] + granted, await self.kv.update(key, str(known[0] + granted).encode(), last=known[1])
                )
                return granted
            except KeyWrongLastSequenceError:
                pass
        deadline, attempt = time.monotonic() + self.contention_s, 0
        while True:
            count, revision = await self._read(key)
            if count >= limit:
                return 0
            granted = min(wanted, limit - count)
            try:
                if revision == 0:
                    new_revision = await self.kv.create(key, str(granted).encode())
                else:
                    new_revision = await self.kv.update(key, str(count + granted).encode(), last=revision)
                self._remember(key, count + granted, new_revision)
                return granted
            except KeyWrongLastSequenceError:
                if time.monotonic() > deadline:
                    REFUSED_UNDER_CONTENTION.inc(wanted)
                    return 0
                attempt += 1
                # Spread the replicas out, or they collide again on the next round.
                await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2 ** min(attempt, 6))))

    def _reachable(self) -> None:
        if not self.connected():
            raise ConnectionError("NATS is not connected")

    async def _read(self, key: str) -> tuple[int, int]:
        """(count, revision); (0, 0) when the window has no count yet."""
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return 0, 0
        return int(entry.value or b"0"), entry.revision

    def _remember(self, key: str, count: int, revision: int) -> None:
        if len(self._last) > 50_000:
            self._last.clear()
        self._last[key] = (count, revision)

    def _count_locally(self, key: str, limit: int, wanted: int) -> int:
        window = key.rsplit(".", 1)[1]
        if window != self._local_window:  # a new minute: the old counts are over
            self._local, self._local_window = {}, window
        count = self._local.get(key, 0)
        self._local[key] = count + wanted
        COUNTED_LOCALLY.inc(wanted)
        return max(0, min(wanted, limit - count))


def _window_key(caller: str) -> tuple[str, int]:
    now = time.time()
    key = f"{hashlib.sha256(caller.encode()).hexdigest()[:24]}.{int(now // 60)}"
    return key, max(1, int(60 - now % 60) + 1)
