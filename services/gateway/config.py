from functools import cached_property
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator

from runtime.settings import ServiceSettings, database_field, nats_password_field, nats_user_field
from services.gateway import client_address


class GatewaySettings(ServiceSettings):
    service_name: ClassVar[str] = "gateway"
    default_port: ClassVar[int] = 8000
    secret_fields: ClassVar[tuple[str, ...]] = ("gateway_admin_token",)

    database_url: str | None = database_field("gateway")
    nats_user: str | None = nats_user_field("gateway")
    nats_password: SecretStr | None = nats_password_field("gateway")
    gateway_host: str | None = None
    gateway_port: int | None = None
    gateway_admin_token: str = ""
    rate_limit_per_minute: int = Field(default=600, ge=1)
    # Requests per platform key and minute on /ingest/v1/… (API.md), counted apart from the tenants' limit.
    ingest_rate_limit_per_minute: int = Field(default=60_000, ge=1)
    admin_auth_failures_per_minute: int = Field(default=10, ge=1)  # per client address
    sse_heartbeat_s: float = Field(default=15, gt=0)
    sse_queue_size: int = Field(default=1000, ge=10)
    sse_replay_limit: int = Field(default=10_000, ge=1)
    request_timeout_s: float = Field(default=5.0, gt=0)
    max_body_bytes: int = 1_048_576
    session_ttl_s: int = 7 * 24 * 3600
    # The operator console's sessions (/ops) last a working day, not a week: they can move money.
    ops_session_ttl_s: int = Field(default=8 * 3600, ge=60)
    cookie_secure: bool = False  # production turns it on whatever it says (`secure_cookies`)
    # Signs the login form's CSRF token (no session exists yet); defaults to a key derived from the admin token.
    session_secret: str = ""
    sse_max_buffer_bytes: int = Field(default=256 * 1024, ge=1024)
    # Open streams of one tenant on one gateway process; beyond them 429.
    sse_max_streams_per_tenant: int = Field(default=100, ge=1)
    # `Last-Event-ID` replays that scan more than one fetch (500 messages) at once per process, and
    # how long one waits for its turn before 503.
    sse_replay_concurrency: int = Field(default=4, ge=1)
    sse_replay_wait_s: float = Field(default=10.0, gt=0)
    low_balance_threshold_cents: int = 1000
    # Where emailed links (password reset) point; never taken from the request's Host header.
    portal_base_url: str = "http://127.0.0.1:8000"
    password_reset_ttl_s: int = Field(default=3600, ge=60)
    # argon2 holds 64 MiB per password check: at most budget ÷ 64 run at once (at least one); a
    # login waits this long for a free slot, then answers 503 with Retry-After.
    password_checks_memory_mib: int = Field(default=128, ge=1)
    password_check_wait_s: float = Field(default=3.0, gt=0)
    # CIDRs of the proxies in front of the gateway (the ingress) whose X-Forwarded-For is believed.
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        client_address.parse_networks(value)
        return value

    @cached_property
    def trusted_proxy_networks(self) -> tuple[client_address.Network, ...]:
        return client_address.parse_networks(self.trusted_proxies)

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure or self.app_env == "production"

    @property
    def http_port(self) -> int:
        if self.gateway_port is not None:
            return self.gateway_port
        return super().http_port

    def model_post_init(self, _context) -> None:
        if self.gateway_host:
            self.host = self.gateway_host
