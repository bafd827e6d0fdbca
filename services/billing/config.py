from typing import ClassVar

from pydantic import Field, SecretStr

from runtime.settings import ServiceSettings, database_field, nats_password_field, nats_user_field


class BillingSettings(ServiceSettings):
    service_name: ClassVar[str] = "billing"
    default_port: ClassVar[int] = 8002

    database_url: str | None = database_field("billing")
    nats_user: str | None = nats_user_field("billing")
    nats_password: SecretStr | None = nats_password_field("billing")
    low_balance_threshold_cents: int = 1000
    topup_min_cents: int = 1000
    topup_max_cents: int = 1_000_000
    autotopup_monitor_s: float = 300
    autotopup_retry_s: str = "300,1800"
    autotopup_cooldown_s: float = 60
    # A charge in flight longer than this is looked up at Stripe through payments (docs/architecture.md)
    autotopup_inflight_timeout_s: float = Field(default=900, gt=0)
    usage_batch_size: int = Field(default=2000, ge=1, le=5000)
    # Usage batches in flight per replica: while one waits for PostgreSQL the next is parsed and claimed
    # (they meet at the tenants' account locks, as two replicas' batches do; docs/architecture.md)
    usage_consumers: int = Field(default=2, ge=1, le=8)
    hold_sweep_s: float = 5.0
    grant_expiry_notice_days: int = Field(default=7, ge=0)  # credits.expiring this long before a grant expires
    grant_sweep_s: float = Field(default=20, gt=0)  # how often due grants expire and notices go out
    # Set: a top-up's bonus is credited as a grant expiring this many days later (unset: plain balance)
    bonus_expires_after_days: int | None = Field(default=None, ge=1)
