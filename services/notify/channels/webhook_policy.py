"""When to try a webhook again, and when to give up on an endpoint. Pure functions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from services.notify.channels.result import Outcome

DEFAULT_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,36000"
DEFAULT_DISABLE_AFTER_S = 432_000
MAX_RETRY_AFTER_S = 86_400  # a receiver's Retry-After is honoured, up to a day


class DisableReason(StrEnum):
    GONE = "gone"  # the endpoint answered 410 Gone
    FAILING = "failing"  # no successful delivery for WEBHOOK_DISABLE_AFTER_S while attempts fail


def parse_retry_schedule(text: str) -> tuple[float, ...]:
    """`WEBHOOK_RETRY_SCHEDULE`: comma-separated seconds between attempts (fractions allowed, so
    that tests can compress the schedule)."""
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"retry schedule must be comma-separated seconds, not {text!r}") from None
    if not delays or any(delay < 0 for delay in delays):
        raise ValueError(f"retry schedule needs at least one non-negative delay, not {text!r}")
    return delays


def next_attempt_delay(
    schedule: tuple[float, ...], failed_attempt: int, *, retry_after_s: int | None = None
) -> float | None:
    """Seconds to wait after attempt number `failed_attempt` (1 = first) failed; None: give up.

    A receiver's Retry-After can lengthen the wait, never shorten it.
    """
    if failed_attempt < 1:
        raise ValueError("attempts are numbered from 1")
    if failed_attempt > len(schedule):
        return None
    delay = schedule[failed_attempt - 1]
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return delay


def failing_since_after(outcome: Outcome, *, failing_since: datetime | None, now: datetime) -> datetime | None:
    """The endpoint's new `failing_since`: cleared by a success, set by the first failure after one."""
    if outcome is Outcome.DELIVERED:
        return None
    return failing_since or now


def disable_reason(
    outcome: Outcome, *, failing_since: datetime | None, now: datetime, disable_after_s: int
) -> DisableReason | None:
    """Why to disable the endpoint after this attempt, or None to keep it."""
    if outcome is Outcome.GONE:
        return DisableReason.GONE
    if outcome is Outcome.DELIVERED or failing_since is None:
        return None
    if (now - failing_since).total_seconds() >= disable_after_s:
        return DisableReason.FAILING
    return None
