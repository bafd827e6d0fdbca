"""The gateway owns the credentials: tenants' API keys, portal users and their sessions, platform keys."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from runtime.tables import TIMESTAMPTZ


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"
    id: str = Field(primary_key=True, max_length=64)
    name: str
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    prefix: str = Field(primary_key=True, max_length=12)
    tenant_id: str = Field(max_length=64, index=True)
    key_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    last_used_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)


class PlatformKey(SQLModel, table=True):
    """A key of a platform that sends usage over HTTP (`/ingest/v1/…`); it belongs to no tenant."""

    __tablename__ = "platform_keys"
    prefix: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=200)
    key_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    last_used_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)


class PortalUser(SQLModel, table=True):
    __tablename__ = "portal_users"
    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=64, index=True)
    email: str = Field(max_length=320, unique=True)
    password_hash: str
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class PortalSession(SQLModel, table=True):
    __tablename__ = "portal_sessions"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=64)
    tenant_id: str = Field(max_length=64)
    csrf_token: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class PasswordResetToken(SQLModel, table=True):
    """A single-use reset link: only the SHA-256 of its token is kept; `id` is what the bus may carry."""

    __tablename__ = "password_reset_tokens"
    token_hash: str = Field(primary_key=True, max_length=64)
    id: str | None = Field(default=None, max_length=40, unique=True)
    locale: str | None = Field(default=None, max_length=2)  # of the mail
    user_id: str = Field(max_length=64, index=True)
    expires_at: datetime = Field(sa_type=TIMESTAMPTZ)
    used_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class OpsSession(SQLModel, table=True):
    """An operator console session (services/gateway/ops): opened with the admin token, kept by the
    SHA-256 of its cookie. `admin_token_digest` ties it to the token it was opened with, so rotating
    GATEWAY_ADMIN_TOKEN ends every console session."""

    __tablename__ = "ops_sessions"
    token_hash: str = Field(primary_key=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    admin_token_digest: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=TIMESTAMPTZ, index=True)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
