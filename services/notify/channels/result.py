"""What one delivery attempt on any channel came to, in one shape for the delivery log."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum


class Outcome(StrEnum):
    DELIVERED = "delivered"  # the peer accepted it
    RETRY = "retry"  # transient: try again later (5xx, timeout, network)
    FAILED = "failed"  # permanent: record it, retrying cannot help
    GONE = "gone"  # the target no longer exists: delete the subscription / disable the endpoint


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    outcome: Outcome
    duration_ms: int = 0
    error: str | None = None
    status_code: int | None = None
    provider_id: str | None = None  # Message-ID, Twilio message SID, …
    response_snippet: str | None = None
    retry_after_s: int | None = None
    keep_trying: bool = False  # waiting for a dependency: retry after `retry_after_s`, past the schedule

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED

    @property
    def should_retry(self) -> bool:
        return self.outcome is Outcome.RETRY


class Stopwatch:
    """Milliseconds since construction, for `duration_ms`."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def elapsed_ms(self) -> int:
        return round((time.perf_counter() - self._start) * 1000)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> int | None:
    """`Retry-After` as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, round((when - (now or datetime.now(UTC))).total_seconds()))
