"""A lookup in flight while its key is revoked must not put the key back into the cache.

Before the fix, a request that had read the key as valid from the database just before the
revocation committed cached it after the eviction had run: the revoked key kept working on that
replica for the cache's 10 s.
"""

import asyncio
import contextlib

from services.gateway import credentials
from services.gateway.key_cache import KeyCache

KEY = "ppk_" + "k" * 40
PREFIX = KEY[: credentials.PREFIX_LEN]


class _Database:
    @contextlib.asynccontextmanager
    async def sessions(self):
        yield None


async def test_a_lookup_in_flight_during_revocation_does_not_recache_the_key(monkeypatch):
    revoked, answered = False, asyncio.Event()

    async def tenant_for_key(_session, key):
        if revoked:
            return None
        valid = "ten_1"  # read before the revocation committed ...
        await answered.wait()  # ... and handed back after it
        return valid

    monkeypatch.setattr(credentials, "tenant_for_key", tenant_for_key)
    cache = KeyCache(_Database())
    in_flight = asyncio.create_task(cache.owner_of(KEY))
    await asyncio.sleep(0.01)
    revoked = True
    await cache.revoked(PREFIX)
    answered.set()
    await in_flight

    assert await cache.owner_of(KEY) is None
