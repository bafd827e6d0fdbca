"""Local days and months as UTC ranges, across both DST changes of Europe/Berlin.

2026's changes: Sunday 29 March (02:00 CET → 03:00 CEST, at 01:00 UTC) and Sunday 25 October
(03:00 CEST → 02:00 CET, at 01:00 UTC): those days last 23 and 25 hours.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from runtime.calendar import Calendar
from services.billing.autotopup.store import Policy

BERLIN = Calendar("Europe/Berlin")
SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_dst_sundays_last_23_and_25_hours():
    for day, hours in ((SPRING, 23), (AUTUMN, 25), (date(2026, 3, 28), 24), (date(2026, 10, 26), 24)):
        start, end = BERLIN.day_bounds(day)
        assert end - start == timedelta(hours=hours), day


def test_instants_around_the_switches_belong_to_their_local_day():
    assert BERLIN.date_of(utc(2026, 3, 28, 22, 59, 59)) == date(2026, 3, 28)
    assert BERLIN.date_of(utc(2026, 3, 28, 23)) == SPRING  # 00:00 CET
    assert BERLIN.date_of(utc(2026, 3, 29, 21, 59, 59)) == SPRING  # 23:59:59 CEST
    assert BERLIN.date_of(utc(2026, 3, 29, 22)) == date(2026, 3, 30)
    assert BERLIN.date_of(utc(2026, 10, 24, 22)) == AUTUMN  # 00:00 CEST
    assert BERLIN.date_of(utc(2026, 10, 25, 22, 59, 59)) == AUTUMN  # 23:59:59 CET
    assert BERLIN.date_of(utc(2026, 10, 25, 23)) == date(2026, 10, 26)


@pytest.mark.parametrize(
    ("month", "start", "end"),
    [
        ("2026-03", utc(2026, 2, 28, 23), utc(2026, 3, 31, 22)),  # begins in CET, ends in CEST
        ("2026-04", utc(2026, 3, 31, 22), utc(2026, 4, 30, 22)),
        ("2026-10", utc(2026, 9, 30, 22), utc(2026, 10, 31, 23)),  # begins in CEST, ends in CET
        ("2026-11", utc(2026, 10, 31, 23), utc(2026, 11, 30, 23)),
        ("2026-12", utc(2026, 11, 30, 23), utc(2026, 12, 31, 23)),
    ],
)
def test_month_bounds_are_local_midnights_in_utc(month, start, end):
    assert BERLIN.month_bounds(month) == (start, end)
    assert BERLIN.month_of(start) == month
    assert BERLIN.month_of(end - timedelta(microseconds=1)) == month


def test_the_monthly_auto_topup_cap_counts_charges_in_their_local_month():
    policy = Policy(timezone="Europe/Berlin")
    assert policy.month(utc(2026, 3, 31, 21, 59, 59)) == "2026-03"
    assert policy.month(utc(2026, 3, 31, 22)) == "2026-04"  # 00:00 CEST on 1 April
    assert policy.month(utc(2026, 10, 31, 22, 59, 59)) == "2026-10"
    assert policy.month(utc(2026, 10, 31, 23)) == "2026-11"  # 00:00 CET on 1 November


def test_a_naive_datetime_is_refused_not_guessed():
    with pytest.raises(ValueError, match="naive"):
        BERLIN.date_of(datetime(2026, 3, 29, 2, 30))
