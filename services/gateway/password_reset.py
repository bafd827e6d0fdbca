"""Password reset by an emailed, single-use link.

The token is 32 random bytes (URL-safe base64) and only its SHA-256 is stored, like API keys: a
database dump cannot be turned into working links. A token is spent by one conditional UPDATE, so
two concurrent submissions of the same link cannot both set a password. Setting the password ends
every session of that user and spends the user's other outstanding links.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.gateway.v1 import PasswordResetRequested
from runtime import outbox
from services.gateway import credentials
from services.gateway.tables import PasswordResetToken, PortalSession, PortalUser

TOKEN_BYTES = 32
MAX_OUTSTANDING = 5  # unspent, unexpired links per user: more requests send nothing (mail bombing)
MIN_PASSWORD, MAX_PASSWORD = 8, 200


def reset_path(token: str) -> str:
    return f"/password-reset/{token}"


def plausible(token: str) -> bool:
    return 20 <= len(token) <= 100 and all(c.isalnum() or c in "-_" for c in token)


async def request_reset(session: AsyncSession, *, email: str, base_url: str, locale: str,
                        ttl_s: int) -> bool:
    """Stage a link and its email for a known address; False (and nothing staged) otherwise."""
    user = await credentials.find_user(session, email) if email else None
    if user is None:
        return False
    now = utcnow()
    outstanding = await session.scalar(sa.select(sa.func.count()).select_from(PasswordResetToken).where(
        PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None),
        PasswordResetToken.expires_at > now))
    if outstanding >= MAX_OUTSTANDING:
        return False
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = now + timedelta(seconds=ttl_s)
    session.add(PasswordResetToken(token_hash=credentials.digest(token), user_id=user.id, expires_at=expires,
                                   created_at=now))
    await outbox.add(session, [PasswordResetRequested(
        tenant_id=user.tenant_id, email=user.email, reset_url=base_url.rstrip("/") + reset_path(token),
        locale=locale if locale in ("de", "en") else "de", expires_at=expires)])
    return True


async def usable(session: AsyncSession, token: str) -> bool:
    """The link is known, unspent and unexpired (checked again, atomically, when it is spent)."""
    if not plausible(token):
        return False
    row = await session.get(PasswordResetToken, credentials.digest(token))
    return row is not None and row.used_at is None and _aware(row.expires_at) > utcnow()


async def complete_reset(session: AsyncSession, token: str, *, password_hash: str) -> str | None:
    """Spend the link and set the password; answer the user id, or None when the link is not usable."""
    now = utcnow()
    spent = await session.execute(
        sa.update(PasswordResetToken)
        .where(PasswordResetToken.token_hash == credentials.digest(token), PasswordResetToken.used_at.is_(None),
               PasswordResetToken.expires_at > now)
        .values(used_at=now)
        .returning(PasswordResetToken.user_id))
    user_id = spent.scalar_one_or_none()
    if user_id is None:
        return None
    await session.execute(sa.update(PortalUser).where(PortalUser.id == user_id).values(password_hash=password_hash))
    await session.execute(sa.delete(PortalSession).where(PortalSession.user_id == user_id))
    await session.execute(sa.update(PasswordResetToken).where(
        PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None)).values(used_at=now))
    return user_id


def password_problem(password: str, repeated: str) -> str | None:
    """A text key for what is wrong with the new password, or None."""
    if password != repeated:
        return "reset.mismatch"
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return "reset.length"
    return None


def _aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)
