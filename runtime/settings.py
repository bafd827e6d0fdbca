"""One validated settings object per service; the only place that reads the environment."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime import logs

PLACEHOLDERS = {"", "changeme", "change-me", "secret", "dev", "development", "test"}


def database_field(service: str) -> object:
    """`<SERVICE>_DATABASE_URL` overrides `DATABASE_URL` for one service (API.md)."""
    return Field(
        default=None,
        validation_alias=AliasChoices(f"{service.upper()}_DATABASE_URL", "DATABASE_URL"),
    )


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses add their own and list their secrets."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000
    secret_fields: ClassVar[tuple[str, ...]] = ()

    app_env: Literal["development", "test", "production"] = "development"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream_replicas: int = Field(default=1, ge=1, le=5)
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
    def _keep_secrets_out_of_logs(self) -> ServiceSettings:
        """The value of every setting named like a secret is redacted wherever a log line quotes it."""
        values = [value.get_secret_value() if isinstance(value, SecretStr) else value for name, value in self
                  if logs.SECRET_KEYS.search(name)]
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
    def schema(self) -> str:
        return self.db_schema or self.service_name

    @property
    def http_port(self) -> int:
        return self.port if self.port is not None else self.default_port

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.var_dir}/{self.service_name}.db"

    @property
    def nats_servers(self) -> list[str]:
        return [s.strip() for s in self.nats_url.split(",") if s.strip()]
