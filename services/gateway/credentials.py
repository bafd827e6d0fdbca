"""API keys, passwords, portal sessions and CSRF tokens.

API keys (and platform keys, `platform_keys.py`) are 256-bit random secrets, so a fast keyed hash
(SHA-256) is enough to store them; passwords are low-entropy and get argon2. Keys are shown once; only
the 12-character prefix stays visible.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import new_id, utcnow
from services.gateway.tables import ApiKey, PlatformKey, PortalSession, PortalUser

KEY_PREFIX = "ppk_"
PREFIX_LEN = 12
KeyRow = TypeVar("KeyRow", ApiKey, PlatformKey)
_hasher = PasswordHasher()
ARGON2_MEMORY_MIB = _hasher.memory_cost // 1024  # what one hash or check holds while it runs (64)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(kind: str = KEY_PREFIX) -> tuple[str, str]:
    """A key starting with `kind` (`ppk_` for API keys) and its prefix."""
    key = kind + secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")
    return key, key[:PREFIX_LEN]


async def issue_key(session: AsyncSession, table: type[KeyRow], *, kind: str, **columns) -> tuple[str, KeyRow]:
    """A new key of `kind` stored as a row of `table` (its hash, never the key), and the key itself."""
    while True:
        key, prefix = new_key(kind)
        if await session.get(table, prefix) is None:
            break
    row = table(prefix=prefix, key_hash=digest(key), created_at=utcnow(), **columns)
    session.add(row)
    return key, row


async def live_key(session: AsyncSession, table: type[KeyRow], key: str, *, kind: str) -> KeyRow | None:
    """The unrevoked row of `table` whose hash `key` matches."""
    if not key.startswith(kind) or len(key) < PREFIX_LEN + 8:
        return None
    row = await session.get(table, key[:PREFIX_LEN])
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest(key)):
        return None
    return row


async def issue_api_key(session: AsyncSession, *, tenant_id: str) -> tuple[str, ApiKey]:
    return await issue_key(session, ApiKey, kind=KEY_PREFIX, tenant_id=tenant_id)


async def tenant_for_key(session: AsyncSession, key: str) -> str | None:
    row = await live_key(session, ApiKey, key, kind=KEY_PREFIX)
    return None if row is None else row.tenant_id


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class SessionInfo:
    tenant_id: str
    user_id: str
    csrf_token: str
    expires_at: datetime | None = None


async def open_session(session: AsyncSession, *, user: PortalUser, ttl_s: int) -> tuple[str, SessionInfo]:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = utcnow()
    session.add(
        PortalSession(
            token_hash=digest(token),
            user_id=user.id,
            tenant_id=user.tenant_id,
            csrf_token=csrf,
            expires_at=now + timedelta(seconds=ttl_s),
            created_at=now,
        )
    )
    return token, SessionInfo(user.tenant_id, user.id, csrf, now + timedelta(seconds=ttl_s))


async def session_for_token(session: AsyncSession, token: str, *, now: datetime | None = None) -> SessionInfo | None:
    row = await session.get(PortalSession, digest(token))
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
    if expires <= (now or utcnow()):
        return None
    return SessionInfo(row.tenant_id, row.user_id, row.csrf_token, expires)


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(sa.delete(PortalSession).where(PortalSession.token_hash == digest(token)))


async def find_user(session: AsyncSession, email: str) -> PortalUser | None:
    result = await session.execute(sa.select(PortalUser).where(PortalUser.email == email.strip().lower()))
    return result.scalar_one_or_none()


def new_user(*, tenant_id: str, email: str, password_hash: str) -> PortalUser:
    return PortalUser(
        id=new_id("usr_")[:40],
        tenant_id=tenant_id,
        email=email.strip().lower(),
        password_hash=password_hash,
        created_at=utcnow(),
    )


async def still_valid(session: AsyncSession, *, key_prefixes: set[str], session_hashes: set[str]) -> set[str]:
    """Which of these API keys are unrevoked and which sessions unexpired (prefixes and hashes as given)."""
    valid: set[str] = set()
    for chunk in _chunks(key_prefixes):
        valid |= set(
            (
                await session.execute(
                    sa.select(ApiKey.prefix).where(ApiKey.prefix.in_(chunk), ApiKey.revoked_at.is_(None))
                )
            ).scalars()
        )
    for chunk in _chunks(session_hashes):
        valid |= set(
            (
                await session.execute(
                    sa.select(PortalSession.token_hash).where(
                        PortalSession.token_hash.in_(chunk), PortalSession.expires_at > utcnow()
                    )
                )
            ).scalars()
        )
    return valid


def _chunks(values: set[str], size: int = 1000) -> list[list[str]]:
    ordered = sorted(values)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]
