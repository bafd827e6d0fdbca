"""Notify's settings: SMTP, Twilio, VAPID, webhook policy and delivery concurrency.

`WEBHOOK_ALLOW_PRIVATE` lets webhook endpoints (and push services) live on private or loopback
addresses. It defaults to true only when `APP_ENV` is `development` or `test`; in production
every destination must be a public host (SSRF).
"""

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator

from runtime.settings import ServiceSettings, database_field, nats_password_field, nats_user_field
from services.notify.channels.email import SmtpSettings
from services.notify.channels.push import generate_vapid_private_key
from services.notify.channels.registry import REGISTRY
from services.notify.channels.webhook_policy import (
    DEFAULT_DISABLE_AFTER_S,
    DEFAULT_RETRY_SCHEDULE,
    parse_retry_schedule,
)

LOCAL_TWILIO_SID = "AC" + "0" * 32


class NotifySettings(ServiceSettings):
    service_name: ClassVar[str] = "notify"
    default_port: ClassVar[int] = 8004
    secret_fields: ClassVar[tuple[str, ...]] = ("twilio_auth_token", "vapid_private_key")

    database_url: str | None = database_field("notify")
    nats_user: str | None = nats_user_field("notify")
    nats_password: SecretStr | None = nats_password_field("notify")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Billing <billing@localhost>"

    twilio_account_sid: str = LOCAL_TWILIO_SID
    twilio_auth_token: str | None = None  # the local stand-in's token outside production
    twilio_from: str = "+15005550006"
    twilio_api_base: str | None = None

    vapid_private_key: str | None = None  # generated under var/ outside production
    vapid_subject: str = "mailto:billing@localhost"

    webhook_retry_schedule: str = DEFAULT_RETRY_SCHEDULE
    webhook_disable_after_s: int = Field(default=DEFAULT_DISABLE_AFTER_S, ge=0)
    webhook_timeout_s: float = Field(default=15.0, gt=0)
    webhook_allow_private: bool | None = None

    # email / SMS / push: a short, bounded retry of transient errors (seconds between attempts)
    notify_retry_schedule: str = "2,10,60,300"
    # document.issued waits this long for the invoice PDF before the email goes without it
    notify_document_wait_s: int = Field(default=86_400, ge=0)
    # Attempts in flight per channel and process, e.g. NOTIFY_CONCURRENCY='{"email": 30}'; a channel
    # without an entry uses its registration's default (services/notify/channels/registry.py).
    notify_concurrency: dict[str, int] = Field(default_factory=dict)
    notify_concurrency_webhook: int = Field(default=200, ge=1)
    notify_concurrency_per_endpoint: int = Field(default=8, ge=1)
    notify_poll_s: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> "NotifySettings":
        parse_retry_schedule(self.webhook_retry_schedule)
        parse_retry_schedule(self.notify_retry_schedule)
        if self.webhook_allow_private is None:
            self.webhook_allow_private = self.app_env in ("development", "test")
        return self

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        return parse_retry_schedule(self.notify_retry_schedule)

    @property
    def webhook_schedule(self) -> tuple[float, ...]:
        return parse_retry_schedule(self.webhook_retry_schedule)

    @property
    def channel_limits(self) -> dict[str, int]:
        """Every registered channel's limit (NOTIFY_CONCURRENCY, else its default), and webhooks'."""
        limits = {
            name: max(1, self.notify_concurrency.get(name, channel.default_concurrency))
            for name, channel in REGISTRY.items()
        }
        return {**limits, "webhook": self.notify_concurrency_webhook}

    def smtp(self) -> SmtpSettings:
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            mail_from=self.mail_from,
            username=self.smtp_username,
            password=self.smtp_password,
            starttls=self.smtp_starttls,
        )

    def twilio_token(self) -> str:
        return self.twilio_auth_token or "test-token"

    def vapid_key(self) -> str:
        """The configured key, or one generated once and kept under `var/` (development, test)."""
        if self.vapid_private_key:
            return self.vapid_private_key
        path = Path(self.var_dir) / "notify-vapid.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(generate_vapid_private_key())
            path.chmod(0o600)
        return path.read_text().strip()
