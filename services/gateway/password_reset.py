"""Password reset by an emailed, single-use link.

The link's token is derived from the reset's random id with a key only the gateway holds (HMAC,
`keys.derived_key(settings, "password-reset")`), and only the token's SHA-256 is stored: a database
dump cannot be turned into working links, yet the gateway can hand notify the same link again
whenever a mail is retried without keeping the link anywhere. The bus carries the reset's id only
(`PasswordResetIssued`); notify fetches the link by request/reply (`link_for`) right before it
mails it. A token is spent by one conditional UPDATE, so two concurrent submissions of the same
link cannot both set a password. Setting the password ends every session of that user and spends
the user's other outstanding links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import new_id, utcnow
from contracts.gateway.v1 import PasswordResetIssued, PasswordResetLink
from runtime import outbox
from services.gateway import credentials
from services.gateway.tables import PasswordResetToken, PortalSession, PortalUser

log = structlog.get_logger(__name__)
KEY_PURPOSE = "password-reset"
NEW_PASSWORD_PATH = "/password-reset/new"
MAX_OUTSTANDING = 5  # unspent, unexpired links per user: more requests send nothing (mail bombing)
MIN_PASSWORD, MAX_PASSWORD = 8, 200


def link_token(key: bytes, reset_id: str) -> str:
    mac = hmac.new(key, reset_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def reset_url(base_url: str, token: str) -> str:
    """The token rides in the fragment, which browsers send to no server and in no Referer."""
    return f"{base_url.rstrip('/')}{NEW_PASSWORD_PATH}#token={token}"


def plausible(token: str) -> bool:
    return 20 <= len(token) <= 100 and all(c.isalnum() or c in "-_" for c in token)


async def request_reset(session: AsyncSession, *, email: str, locale: str, ttl_s: int, key: bytes) -> bool:
    """Stage a link and the event that has it mailed for a known address; False (and nothing) otherwise."""
    user = await credentials.find_user(session, email) if email else None
    if user is None:
        return False
    now = utcnow()
    outstanding = await session.scalar(
        sa.select(sa.func.count())
        .select_from(PasswordResetToken)
        .where(
            PasswordResetToken.user_id == user.id,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
    )
    if outstanding >= MAX_OUTSTANDING:
        return False
    reset_id = new_id("rst_")
    session.add(
        PasswordResetToken(
            token_hash=credentials.digest(link_token(key, reset_id)),
            id=reset_id,
            user_id=user.id,
            locale=locale if locale in ("de", "en") else "de",
            expires_at=now + timedelta(seconds=ttl_s),
            created_at=now,
        )
    )
    await outbox.add(session, [PasswordResetIssued(tenant_id=user.tenant_id, reset_id=reset_id)])
    return True


async def link_for(session: AsyncSession, *, reset_id: str, key: bytes, base_url: str) -> PasswordResetLink | None:
    """The link of an unspent, unexpired reset, to be mailed; None otherwise."""
    row = (
        await session.execute(sa.select(PasswordResetToken).where(PasswordResetToken.id == reset_id))
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    token = link_token(key, reset_id)
    if not hmac.compare_digest(credentials.digest(token), row.token_hash):
        log.warning("password_reset.key_changed", reset_id=reset_id)  # SESSION_SECRET rotated since
        return None
    user = await session.get(PortalUser, row.user_id)
    if user is None:
        return None
    return PasswordResetLink(
        email=user.email, reset_url=reset_url(base_url, token), locale=row.locale or "de", expires_at=row.expires_at
    )


async def usable(session: AsyncSession, token: str) -> bool:
    """The link is known, unspent and unexpired (checked again, atomically, when it is spent)."""
    if not plausible(token):
        return False
    row = await session.get(PasswordResetToken, credentials.digest(token))
    return row is not None and row.used_at is None and row.expires_at > utcnow()


async def complete_reset(session: AsyncSession, token: str, *, password_hash: str) -> list[str] | None:
    """Spend the link and set the password; answer the ended sessions' hashes, or None when the link
    is not usable."""
    now = utcnow()
    spent = await session.execute(
        sa.update(PasswordResetToken)
        .where(
            PasswordResetToken.token_hash == credentials.digest(token),
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordResetToken.user_id)
    )
    user_id = spent.scalar_one_or_none()
    if user_id is None:
        return None
    await session.execute(sa.update(PortalUser).where(PortalUser.id == user_id).values(password_hash=password_hash))
    ended = await session.execute(
        sa.delete(PortalSession).where(PortalSession.user_id == user_id).returning(PortalSession.token_hash)
    )
    await session.execute(
        sa.update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    return list(ended.scalars())


def password_problem(password: str, repeated: str) -> str | None:
    """A text key for what is wrong with the new password, or None."""
    if password != repeated:
        return "reset.mismatch"
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return "reset.length"
    return None
