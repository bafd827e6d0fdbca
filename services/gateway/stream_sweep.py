"""The safety net under the revocation broadcast: each minute, each replica checks the credentials
its open SSE streams were opened with against the database and ends those that are gone.

The broadcast (`revocations.py`) is core NATS, at most once: a replica that was cut off from NATS
when a key was revoked would otherwise keep that key's streams open for as long as they last.
"""

from __future__ import annotations

import asyncio

import structlog

from services.gateway import credentials, revocations

log = structlog.get_logger(__name__)
SWEEP_S = 60.0


async def sweep_once(*, hub, db, ended: revocations.Revocations) -> set[str]:
    opened_with = {c for c in hub.by_credential if c}
    if not opened_with:
        return set()
    kinds = {
        kind: {c.partition(":")[2] for c in opened_with if c.startswith(kind + ":")} for kind in ("key", "session")
    }
    async with db.sessions() as session:
        valid = await credentials.still_valid(session, key_prefixes=kinds["key"], session_hashes=kinds["session"])
    gone = {c for c in opened_with if c.partition(":")[2] not in valid}
    if gone:
        ended.apply(gone)  # this replica's own streams: nothing to broadcast
    return gone


async def sweep_forever(*, hub, db, ended: revocations.Revocations, every_s: float = SWEEP_S) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await sweep_once(hub=hub, db=db, ended=ended)
        except Exception as exc:  # the database was away: next minute
            log.warning("stream_sweep.failed", error=repr(exc))
