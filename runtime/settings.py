"""One validated settings object per service; the only place that reads the environment."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime import logs
from runtime.db import async_url

PLACEHOLDERS = {"", "changeme", "change-me", "secret", "dev", "development", "test"}


def database_field(service: str) -> Any:
    """`<SERVICE>_DATABASE_URL` overrides `DATABASE_URL` for one service (API.md)."""
    return Field(
        default=None,
        validation_alias=AliasChoices(f"{service.upper()}_DATABASE_URL", "DATABASE_URL"),
    )


def nats_user_field(service: str) -> Any:
    """`<SERVICE>_NATS_USER` overrides `NATS_USER` for one service (one environment, many users: make run)."""
    return Field(default=None, validation_alias=AliasChoices(f"{service.upper()}_NATS_USER", "NATS_USER"))


def nats_password_field(service: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(f"{service.upper()}_NATS_PASSWORD", "NATS_PASSWORD"))


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses add their own and list their secrets."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000
    secret_fields: ClassVar[tuple[str, ...]] = ()

    app_env: Literal["development", "test", "production"] = "development"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream_replicas: int = Field(default=1, ge=1, le=5)
    # How this service authenticates to NATS (API.md): a user and password, or a credentials file
    # (NATS_CREDS, JWT + nkey seed). None of them: an unauthenticated connection, as before.
    # NATS_TLS_CA turns TLS on (the CA that signed the server's certificate); NATS_TLS_CERT and
    # NATS_TLS_KEY add a client certificate for servers that verify clients (mTLS).
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_creds: str | None = None
    nats_tls_ca: str | None = None
    nats_tls_cert: str | None = None
    nats_tls_key: str | None = None
    database_url: str | None = None
    db_schema: str | None = Field(default=None, validation_alias=AliasChoices("DB_SCHEMA"))
    # Connections per process: up to this many pooled plus as many again under a burst. Every
    # replica of a service opens them to that service's database (docs/operations.md: the budget).
    db_pool_size: int = Field(default=10, ge=1, le=100)
    var_dir: str = "var"
    host: str = "127.0.0.1"
    port: int | None = None
    log_level: str = "INFO"
    log_json: bool = False
    timezone: str = "Europe/Berlin"

    @model_validator(mode="after")
    def _refuse_other_engines(self) -> ServiceSettings:
        if self.database_url:
            async_url(self.database_url)  # raises UnsupportedDatabase (a ValueError) for anything but PostgreSQL
        return self

    @model_validator(mode="after")
    def _nats_credentials_complete(self) -> ServiceSettings:
        if bool(self.nats_user) != bool(self.nats_password and self.nats_password.get_secret_value()):
            raise ValueError("NATS_USER and NATS_PASSWORD go together")
        if self.nats_user and self.nats_creds:
            raise ValueError("give NATS_USER/NATS_PASSWORD or NATS_CREDS, not both")
        if bool(self.nats_tls_cert) != bool(self.nats_tls_key):
            raise ValueError("NATS_TLS_CERT and NATS_TLS_KEY go together")
        return self

    @property
    def nats_authenticated(self) -> bool:
        return bool(self.nats_user or self.nats_creds)

    @model_validator(mode="after")
    def _keep_secrets_out_of_logs(self) -> ServiceSettings:
        """The value of every setting named like a secret is redacted wherever a log line quotes it."""
        values = [
            value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in self
            if logs.SECRET_KEYS.search(name)
        ]
        logs.redact_values([value for value in values if isinstance(value, str)])
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.app_env != "production":
            return self
        bad = [
            name
            for name in self.secret_fields
            if str(getattr(self, name) or "").strip().lower() in PLACEHOLDERS
            or str(getattr(self, name) or "").startswith("dev-")
        ]
        if bad:
            raise ValueError(f"missing or placeholder secrets in production: {', '.join(bad)}")
        if self.database_url is None:
            raise ValueError("DATABASE_URL is required in production")
        return self

    @property
    def schema(self) -> str:  # type: ignore[override]  # pydantic v1's deprecated BaseModel.schema()
        return self.db_schema or self.service_name

    @property
    def http_port(self) -> int:
        return self.port if self.port is not None else self.default_port

    def resolved_database_url(self) -> str:
        """The PostgreSQL URL this service uses; there is no embedded fallback (`make run` starts a
        private PostgreSQL and passes its URL)."""
        if not self.database_url:
            raise ValueError(
                f"{self.service_name.upper()}_DATABASE_URL or DATABASE_URL must be set to a "
                "PostgreSQL URL (`make run` starts a private PostgreSQL under var/pg/)"
            )
        return self.database_url

    @property
    def nats_servers(self) -> list[str]:
        return [s.strip() for s in self.nats_url.split(",") if s.strip()]
