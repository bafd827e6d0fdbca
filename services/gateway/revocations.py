"""Credentials that ended (revoked API and platform keys, ended portal sessions), known at once to every replica.

The replica that ends a credential announces it on core NATS; every replica (itself included)
then evicts the key from its cache and closes the SSE streams opened with it (`on_ended`). What a
replica has heard it remembers for `remember_s`, so that a request which authenticated just
before the end and caches its key or registers its stream just after is refused too: without
that, such a request re-cached a revoked key, or kept a stream the broadcast had already passed.
The broadcast is at most once: a replica that misses one (NATS away) still drops the key when
its cache entry expires and closes the stream at the next sweep (`stream_sweep`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

import structlog

log = structlog.get_logger(__name__)
SUBJECT = "gateway.cache.credentials_ended"  # core NATS: three tokens, outside the GATEWAY stream


def api_key(prefix: str) -> str:
    return f"key:{prefix}"


def platform_key(prefix: str) -> str:
    return f"platform-key:{prefix}"


def session(token_hash: str) -> str:
    return f"session:{token_hash}"


class Revocations:
    def __init__(self, *, remember_s: float = 900.0, max_remembered: int = 100_000) -> None:
        self.remember_s = remember_s
        self.max_remembered = max_remembered
        self._ended: dict[str, float] = {}  # credential → when this replica heard of it (monotonic)
        self._listeners: list[Callable[[set[str]], None]] = []
        self._nc = None

    async def start(self, nc) -> None:
        self._nc = nc
        await nc.subscribe(SUBJECT, cb=self._on_message)

    def on_ended(self, listener: Callable[[set[str]], None]) -> None:
        self._listeners.append(listener)

    def ended(self, credential: str) -> bool:
        return credential in self._ended

    async def announce(self, credentials: Iterable[str]) -> None:
        ended = set(credentials)
        if not ended:
            return
        self.apply(ended)
        if self._nc is None:
            return
        try:
            await self._nc.publish(SUBJECT, json.dumps(sorted(ended)).encode())
            await self._nc.flush(timeout=2)
        except Exception as exc:  # the cache TTL and the stream sweep bound what a lost broadcast costs
            log.warning("revocations.broadcast_failed", error=repr(exc))

    def apply(self, ended: set[str]) -> None:
        now = time.monotonic()
        self._forget_before(now - self.remember_s)
        for credential in ended:
            self._ended.pop(credential, None)  # to the end: the dict stays oldest first
            self._ended[credential] = now
        for listener in self._listeners:
            listener(ended)

    async def _on_message(self, msg) -> None:
        try:
            ended = {str(c) for c in json.loads(msg.data)}
        except (ValueError, TypeError) as exc:
            log.warning("revocations.bad_message", error=repr(exc))
            return
        self.apply(ended)

    def _forget_before(self, moment: float) -> None:
        for credential, heard in list(self._ended.items()):  # oldest first: stop at the first to keep
            if heard >= moment and len(self._ended) < self.max_remembered:
                break
            del self._ended[credential]
