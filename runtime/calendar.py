"""Calendar days and months in `TIMEZONE`, as UTC instants — computed here, once, for every service.

Timestamps are stored as `timestamptz` and compared in UTC. A local day or month is the half-open
range `[start, end)` of the UTC instants whose wall-clock time in the zone falls in it, so a query
is `start <= t < end` whatever the offset: around a DST change a day is 23 or 25 hours long and a
month starts at 22:00 or 23:00 UTC of the previous day (Europe/Berlin: CEST +02:00 in summer, CET
+01:00 in winter). Statements, dashboards, invoice-number years and the monthly auto top-up cap all
ask this class rather than doing the arithmetic themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Calendar:
    timezone: str = "Europe/Berlin"
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))

    def date_of(self, instant: datetime) -> date:
        """The local calendar day of an aware instant."""
        return _aware(instant).astimezone(self.zone).date()

    def month_of(self, instant: datetime) -> str:
        """`YYYY-MM` of the local month an aware instant falls in."""
        return self.date_of(instant).strftime("%Y-%m")

    def today(self, now: datetime | None = None) -> date:
        return self.date_of(now or datetime.now(UTC))

    def day_start(self, day: date) -> datetime:
        """The first instant of a local day, in UTC (midnight exists on every day of every zone we use;
        a zone that skips midnight would start at the first valid wall-clock time after it)."""
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        return self.day_start(day), self.day_start(day + timedelta(days=1))

    def month_bounds(self, month: str) -> tuple[datetime, datetime]:
        """`[first instant, first instant of the next month)` in UTC; ValueError for a malformed
        month or one outside what UTC instants can hold (years 1 and 9999)."""
        match = MONTH.match(month)
        if not match:
            raise ValueError(f"not a month (YYYY-MM): {month!r}")
        year, mon = int(match[1]), int(match[2])
        if not 1 <= mon <= 12:
            raise ValueError(f"not a month (YYYY-MM): {month!r}")
        try:
            first = date(year, mon, 1)
            following = date(year + (mon == 12), mon % 12 + 1, 1)
            return self.day_start(first), self.day_start(following)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"not a month (YYYY-MM): {month!r}") from exc


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:  # a programming error: every timestamp we store or receive carries its zone
        raise ValueError(f"naive datetime {instant!r}: give instants with their offset")
    return instant
