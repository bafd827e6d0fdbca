"""Key → whose it is, cached per gateway process so a request costs no database round trip.

Revocation still takes effect at once on every replica: it is announced through `Revocations`,
which evicts the key here, and a lookup that read the key as valid just before the revocation
committed does not put it back (it answers "unknown"). The short TTL bounds the damage of a
broadcast missed during a NATS outage. Only successful lookups are cached (by the key's hash,
never the key itself), so an unknown key always reaches the database.

`KeyCache` holds tenants' API keys (→ tenant id), `PlatformKeyCache` platform keys (→ the key's name):
the same cache, another lookup and another name in the revocation broadcast.
"""

from __future__ import annotations

import time

from services.gateway import credentials, platform_keys, revocations
from services.gateway.revocations import Revocations


class KeyCache:
    credential = staticmethod(revocations.api_key)  # what a revocation of this kind of key is called

    def __init__(
        self, db, revocations: Revocations | None = None, *, ttl_s: float = 10.0, max_entries: int = 100_000
    ) -> None:
        self.db = db
        self.revocations = revocations or Revocations()
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[str, str, float]] = {}  # digest → (prefix, owner, expires)
        self.revocations.on_ended(self._evict)

    async def _lookup(self, session, key: str) -> str | None:
        return await credentials.tenant_for_key(session, key)

    def _evict(self, ended: set[str]) -> None:
        for digest in [d for d, (p, _, _) in self._entries.items() if self.credential(p) in ended]:
            self._entries.pop(digest, None)

    async def revoked(self, prefix: str) -> None:
        await self.revocations.announce([self.credential(prefix)])

    async def owner_of(self, key: str) -> str | None:
        """Whose the key is (a tenant id here, a platform key's name in `PlatformKeyCache`), or None."""
        digest = credentials.digest(key)
        hit = self._entries.get(digest)
        now = time.monotonic()
        if hit is not None and hit[2] > now:
            return hit[1]
        async with self.db.sessions() as session:
            owner = await self._lookup(session, key)
        prefix = key[: credentials.PREFIX_LEN]
        if owner is None or self.revocations.ended(self.credential(prefix)):  # revoked while we looked
            return None
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest] = (prefix, owner, now + self.ttl_s)
        return owner


class PlatformKeyCache(KeyCache):
    credential = staticmethod(revocations.platform_key)

    async def _lookup(self, session, key: str) -> str | None:
        return await platform_keys.name_for_key(session, key)
