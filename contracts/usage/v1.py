"""Usage in: published by the platform that serves calls (API.md, "Events on NATS")."""

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from contracts.base import Message
from contracts.subjects import USAGE


class UsageRecorded(Message):
    """One unit of consumed service. `id` is the producer's unique id: the same id is debited once."""

    subject: ClassVar[str] = "usage.recorded.v1"
    stream: ClassVar[str | None] = USAGE.name
    durables: ClassVar = ("billing-usage",)

    id: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field(min_length=1, max_length=64)
    amount_cents: int = Field(ge=0, le=10**11)
    quantity: float = Field(default=1, ge=0)
    unit: str = Field(default="unit", max_length=32)
    description: str = Field(default="", max_length=500)
    occurred_at: datetime
