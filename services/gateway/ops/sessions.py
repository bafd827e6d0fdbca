"""The operator console's sessions: the admin token, once checked, is exchanged for a random session
token in an HttpOnly cookie; only its SHA-256 is stored (`ops_sessions`), as for portal sessions.

A console session is no portal session: it has its own table and cookie, so a portal session never
opens `/ops`, and an ops session opens nothing else (the admin API takes only the Bearer token, the
customer routes only API keys and portal sessions). It ends at logout, after OPS_SESSION_TTL_S, or
when GATEWAY_ADMIN_TOKEN changes (each session keeps a digest of the token it was opened with).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from services.gateway.credentials import digest
from services.gateway.tables import OpsSession

COOKIE = "pp_ops_session"  # the CookiePolicy makes it __Host-pp_ops_session in production


@dataclass(frozen=True)
class Operator:
    """Who is logged in to the console: one shared identity, the holder of the admin token."""

    csrf_token: str
    expires_at: datetime


def admin_token_digest(admin_token: str) -> str:
    return hashlib.sha256(b"pp-ops-session\0" + admin_token.encode()).hexdigest()


async def open_session(session: AsyncSession, *, admin_token: str, ttl_s: int) -> tuple[str, Operator]:
    """A new session (and the expired ones gone: the table holds only what can still be used)."""
    now = utcnow()
    await session.execute(sa.delete(OpsSession).where(OpsSession.expires_at <= now))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = now + timedelta(seconds=ttl_s)
    session.add(
        OpsSession(
            token_hash=digest(token),
            csrf_token=csrf,
            admin_token_digest=admin_token_digest(admin_token),
            expires_at=expires,
            created_at=now,
        )
    )
    return token, Operator(csrf, expires)


async def operator_for(session: AsyncSession, token: str, *, admin_token: str) -> Operator | None:
    """The live session behind a cookie: not expired, and opened with the admin token in force now."""
    row = await session.get(OpsSession, digest(token))
    if row is None or not admin_token:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
    if expires <= utcnow():
        return None
    if not hmac.compare_digest(row.admin_token_digest, admin_token_digest(admin_token)):
        return None
    return Operator(row.csrf_token, expires)


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(sa.delete(OpsSession).where(OpsSession.token_hash == digest(token)))
