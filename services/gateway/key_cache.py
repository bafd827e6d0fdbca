"""API key → tenant, cached per gateway process so a request costs no database round trip.

Revocation still takes effect at once on every replica: it is announced through `Revocations`,
which evicts the key here, and a lookup that read the key as valid just before the revocation
committed does not put it back (it answers "unknown"). The short TTL bounds the damage of a
broadcast missed during a NATS outage. Only successful lookups are cached (by the key's hash,
never the key itself), so an unknown key always reaches the database.
"""

from __future__ import annotations

import time

from services.gateway import credentials
from services.gateway.revocations import Revocations, api_key


class KeyCache:
    def __init__(self, db, revocations: Revocations | None = None, *, ttl_s: float = 10.0,
                 max_entries: int = 100_000) -> None:
        self.db = db
        self.revocations = revocations or Revocations()
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[str, str, float]] = {}  # digest → (prefix, tenant, expires)
        self.revocations.on_ended(self._evict)

    def _evict(self, ended: set[str]) -> None:
        for digest in [d for d, (p, _, _) in self._entries.items() if api_key(p) in ended]:
            self._entries.pop(digest, None)

    async def revoked(self, prefix: str) -> None:
        await self.revocations.announce([api_key(prefix)])

    async def tenant_for(self, key: str) -> str | None:
        digest = credentials.digest(key)
        hit = self._entries.get(digest)
        now = time.monotonic()
        if hit is not None and hit[2] > now:
            return hit[1]
        async with self.db.sessions() as session:
            tenant_id = await credentials.tenant_for_key(session, key)
        prefix = key[: credentials.PREFIX_LEN]
        if tenant_id is None or self.revocations.ended(api_key(prefix)):  # revoked while we looked
            return None
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest] = (prefix, tenant_id, now + self.ttl_s)
        return tenant_id
