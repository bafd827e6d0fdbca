"""Platform keys: how a platform that sends usage over HTTP authenticates (`/ingest/v1/…`, API.md).

They are secrets like API keys (`credentials.py`: random, stored as SHA-256, shown once, known by
their 12-character prefix) but belong to no tenant: a platform reports usage of every tenant it
serves, as the `platform` NATS user does. Their own start, `ppi_`, keeps them from ever matching an
API key (`ppk_`), so each kind opens only its own routes.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from services.gateway import credentials
from services.gateway.tables import PlatformKey

KEY_PREFIX = "ppi_"


async def issue(session: AsyncSession, *, name: str) -> tuple[str, PlatformKey]:
    return await credentials.issue_key(session, PlatformKey, kind=KEY_PREFIX, name=name)


async def name_for_key(session: AsyncSession, key: str) -> str | None:
    """The name of the live platform key `key`, or None."""
    row = await credentials.live_key(session, PlatformKey, key, kind=KEY_PREFIX)
    return None if row is None else row.name


async def live(session: AsyncSession) -> list[PlatformKey]:
    """Every unrevoked platform key, newest first."""
    query = sa.select(PlatformKey).where(PlatformKey.revoked_at.is_(None)).order_by(PlatformKey.created_at.desc())
    return list((await session.execute(query)).scalars())


async def revoke(session: AsyncSession, *, prefix: str) -> bool:
    """Revoke the live key `prefix`; False when there is none."""
    row = await session.get(PlatformKey, prefix, with_for_update=True)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    return True
