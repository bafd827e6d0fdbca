"""A statement month's bounds: local midnight to local midnight, and a clear refusal of non-months."""

from datetime import UTC, datetime

import pytest

from runtime.refusals import Refusal
from services.billing.queries import month_bounds


def test_a_month_runs_from_local_midnight_to_the_next_months():
    start, end = month_bounds("2026-10", "Europe/Berlin")
    assert start.astimezone(UTC) == datetime(2026, 9, 30, 22, tzinfo=UTC)  # CEST
    assert end.astimezone(UTC) == datetime(2026, 10, 31, 23, tzinfo=UTC)  # CET
    assert month_bounds("2026-12", "Europe/Berlin")[1] == datetime(2026, 12, 31, 23, tzinfo=UTC)


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "9999-12", "2026-13", "2026"])
def test_what_is_not_a_month_is_a_validation_error_not_a_crash(month):
    with pytest.raises(Refusal) as refused:
        month_bounds(month, "Europe/Berlin")
    assert refused.value.code == "validation_error"
