"""Fixed-window rate limits shared by every gateway replica through a NATS key-value bucket.

The counter for (caller, minute) is incremented with compare-and-set on the key's revision, so
replicas never lose an increment. Keys expire with the bucket's TTL. If NATS is unreachable the
limiter fails open: availability beats strictness for a rate limit, and the error is logged.
"""

from __future__ import annotations

import hashlib
import time

import structlog
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError

from services.gateway.api.errors import ApiError

log = structlog.get_logger(__name__)
BUCKET = "gateway_ratelimit"


class RateLimiter:
    def __init__(self, *, limit_per_minute: int, replicas: int = 1) -> None:
        self.limit = limit_per_minute
        self.replicas = replicas  # like the streams (NATS_STREAM_REPLICAS): the bucket survives a server loss
        self.kv = None
        self._last: dict[str, tuple[int, int]] = {}  # key → (count, revision) this replica last wrote

    async def start(self, js) -> None:
        try:
            self.kv = await js.key_value(BUCKET)
        except BucketNotFoundError:
            from nats.js.api import KeyValueConfig

            self.kv = await js.create_key_value(KeyValueConfig(bucket=BUCKET, ttl=180, history=1,
                                                                       replicas=self.replicas))

    async def check(self, caller: str) -> None:
        now = time.time()
        window = int(now // 60)
        key = f"{hashlib.sha256(caller.encode()).hexdigest()[:24]}.{window}"
        count = await self._increment(key)
        if count > self.limit:
            retry_after = max(1, int(60 - now % 60) + 1)
            raise ApiError(429, "rate_limited", f"more than {self.limit} requests per minute",
                           {"Retry-After": str(retry_after)})

    def _remember(self, key: str, count: int, revision: int) -> None:
        if len(self._last) > 50_000:
            self._last.clear()
        self._last[key] = (count, revision)

    async def _increment(self, key: str) -> int:
        if self.kv is None:
            return 0
        try:
            known = self._last.pop(key, None)
            if known is not None:  # usually this replica wrote last: one round trip, no read
                try:
                    revision = await self.kv.update(key, str(known[0] + 1).encode(), last=known[1])
                    self._remember(key, known[0] + 1, revision)
                    return known[0] + 1
                except KeyWrongLastSequenceError:
                    pass
            for _ in range(20):
                try:
                    entry = await self.kv.get(key)
                except KeyNotFoundError:
                    try:
                        self._remember(key, 1, await self.kv.create(key, b"1"))
                        return 1
                    except KeyWrongLastSequenceError:
                        continue
                count = int(entry.value or b"0") + 1
                try:
                    self._remember(key, count, await self.kv.update(key, str(count).encode(), last=entry.revision))
                    return count
                except KeyWrongLastSequenceError:
                    continue
        except Exception as exc:
            log.warning("ratelimit.unavailable", error=repr(exc))
        return 0
