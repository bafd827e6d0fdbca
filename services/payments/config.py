from typing import ClassVar

from pydantic import Field, SecretStr

from runtime.settings import ServiceSettings, database_field, nats_password_field, nats_user_field


class PaymentsSettings(ServiceSettings):
    service_name: ClassVar[str] = "payments"
    default_port: ClassVar[int] = 8001
    secret_fields: ClassVar[tuple[str, ...]] = ("stripe_api_key", "stripe_webhook_secret")

    database_url: str | None = database_field("payments")
    nats_user: str | None = nats_user_field("payments")
    nats_password: SecretStr | None = nats_password_field("payments")
    stripe_api_key: str = "sk_test_emulator"
    stripe_api_base: str | None = None
    stripe_webhook_secret: str = "dev-whsec-local"  # refused in production
    stripe_webhook_tolerance_s: int = Field(default=300, ge=1)
    portal_base_url: str = "http://127.0.0.1:8000"
    topup_min_cents: int = Field(default=1000, ge=1)
    topup_max_cents: int = Field(default=1_000_000, ge=1)
    topup_bonus_tiers: str = "10000:5,25000:10,50000:15"
    webhook_workers: int = Field(default=4, ge=1, le=64)
    webhook_poll_s: float = 1.0
    webhook_max_attempts: int = Field(default=8, ge=1)  # for unexpected errors; what can pass never parks
    # The reconciler (services/payments/reconciler.py): how often, how far back, and what is too young
    reconcile_interval_s: float = Field(default=3600, gt=0)
    reconcile_first_run_s: float = Field(default=30, ge=0)
    reconcile_lookback_s: float = Field(default=3 * 24 * 3600, gt=0)
    reconcile_grace_s: float = Field(default=300, ge=0)
    webhook_retry_max_s: float = Field(default=300, gt=0)  # backoff cap between two attempts of one event

    def portal_topup_url(self, topup_id: str, result: str) -> str:
        return f"{self.portal_base_url.rstrip('/')}/portal/topups/{topup_id}?result={result}"
