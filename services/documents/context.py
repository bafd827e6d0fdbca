"""What the use cases need, wired once by app.build: database, issuer, seller, clock, billing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.base import utcnow
from runtime.calendar import Calendar
from runtime.db import Database
from services.documents.datev import DatevConfig
from services.documents.issuing import Issuer
from services.documents.rendering import Party


@dataclass
class Deps:
    db: Database
    issuer: Issuer
    seller: Party
    calendar: Calendar
    nats: Callable[[], Any]  # the connected NATS client, for asking billing
    billing_timeout_s: float = 5.0
    datev: DatevConfig = field(default_factory=DatevConfig)
    clock: Callable[[], datetime] = field(default=utcnow)

    def today(self) -> date:
        return self.calendar.today(self.clock())

    def local_date(self, at: datetime) -> date:
        return self.calendar.date_of(at)

    def current_month(self) -> str:
        return self.today().strftime("%Y-%m")
