"""API key → tenant, cached per gateway process so a request costs no database round trip.

Revocation still takes effect at once: the revoking replica evicts the key itself and broadcasts the
prefix on core NATS, which every replica's cache subscribes to. The short TTL bounds the damage of a
broadcast missed during a NATS outage. Only successful lookups are cached (by the key's hash, never
the key itself), so an unknown key always reaches the database.
"""

from __future__ import annotations

import time

import structlog

from services.gateway import credentials

log = structlog.get_logger(__name__)
REVOKED_SUBJECT = "gateway.cache.api_key_revoked"


class KeyCache:
    def __init__(self, db, *, ttl_s: float = 10.0, max_entries: int = 100_000) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[str, str, float]] = {}  # digest → (prefix, tenant, expires)
        self._nc = None

    async def start(self, nc) -> None:
        self._nc = nc
        await nc.subscribe(REVOKED_SUBJECT, cb=self._on_revoked)

    async def _on_revoked(self, msg) -> None:
        self.evict_prefix(msg.data.decode())

    def evict_prefix(self, prefix: str) -> None:
        for digest in [d for d, (p, _, _) in self._entries.items() if p == prefix]:
            self._entries.pop(digest, None)

    async def revoked(self, prefix: str) -> None:
        self.evict_prefix(prefix)
        if self._nc is not None:
            try:
                await self._nc.publish(REVOKED_SUBJECT, prefix.encode())
                await self._nc.flush(timeout=2)
            except Exception as exc:  # the TTL bounds what a missed broadcast can cost
                log.warning("key_cache.broadcast_failed", error=repr(exc))

    async def tenant_for(self, key: str) -> str | None:
        digest = credentials.digest(key)
        hit = self._entries.get(digest)
        now = time.monotonic()
        if hit is not None and hit[2] > now:
            return hit[1]
        async with self.db.sessions() as session:
            tenant_id = await credentials.tenant_for_key(session, key)
        if tenant_id is not None:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = (key[: credentials.PREFIX_LEN], tenant_id, now + self.ttl_s)
        return tenant_id
