from datetime import UTC, datetime, timedelta

import pytest

from services.notify.channels.result import Outcome
from services.notify.channels.webhook_policy import (
    DEFAULT_RETRY_SCHEDULE,
    DisableReason,
    disable_reason,
    failing_since_after,
    next_attempt_delay,
    parse_retry_schedule,
)

SCHEDULE = parse_retry_schedule(DEFAULT_RETRY_SCHEDULE)
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FIVE_DAYS = 432_000


def test_default_schedule_parses_to_seven_delays() -> None:
    assert SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert parse_retry_schedule(" 5, 60 ,") == (5, 60)


@pytest.mark.parametrize("text", ["", "5,x", "5,-1", " , "])
def test_malformed_schedule_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_retry_schedule(text)


@pytest.mark.parametrize(("failed_attempt", "delay"), [(1, 5), (2, 300), (7, 36000), (8, None), (20, None)])
def test_each_failed_attempt_waits_its_scheduled_delay_until_exhausted(failed_attempt: int, delay: int | None) -> None:
    assert next_attempt_delay(SCHEDULE, failed_attempt) == delay


def test_retry_after_lengthens_but_never_shortens_the_wait() -> None:
    assert next_attempt_delay(SCHEDULE, 1, retry_after_s=120) == 120
    assert next_attempt_delay(SCHEDULE, 2, retry_after_s=10) == 300
    assert next_attempt_delay(SCHEDULE, 1, retry_after_s=10**9) == 86_400
    assert next_attempt_delay(SCHEDULE, 8, retry_after_s=120) is None


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError):
        next_attempt_delay(SCHEDULE, 0)


def test_failing_since_starts_at_the_first_failure_and_clears_on_success() -> None:
    started = failing_since_after(Outcome.RETRY, failing_since=None, now=NOW)
    later = failing_since_after(Outcome.RETRY, failing_since=started, now=NOW + timedelta(hours=3))

    assert started == later == NOW
    assert failing_since_after(Outcome.DELIVERED, failing_since=started, now=NOW) is None


def test_gone_disables_at_once() -> None:
    assert disable_reason(Outcome.GONE, failing_since=None, now=NOW, disable_after_s=FIVE_DAYS) is DisableReason.GONE


def test_endpoint_failing_for_the_whole_period_is_disabled() -> None:
    since = NOW - timedelta(seconds=FIVE_DAYS)
    assert (
        disable_reason(Outcome.RETRY, failing_since=since, now=NOW, disable_after_s=FIVE_DAYS) is DisableReason.FAILING
    )


@pytest.mark.parametrize(
    ("outcome", "failing_for"),
    [(Outcome.RETRY, timedelta(days=4)), (Outcome.DELIVERED, timedelta(days=9)), (Outcome.RETRY, None)],
)
def test_endpoint_is_kept_while_it_has_succeeded_recently(outcome: Outcome, failing_for: timedelta | None) -> None:
    since = None if failing_for is None else NOW - failing_for
    assert disable_reason(outcome, failing_since=since, now=NOW, disable_after_s=FIVE_DAYS) is None
