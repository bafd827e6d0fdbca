"""Statements and dashboards count in TIMEZONE's calendar, on PostgreSQL `timestamptz`, across both
DST changes (the last Sundays of March and October) and at a month's first local minutes.

A posting's `created_at` is the moment billing writes it, so each test posts through the real use
case with billing's clock set to the instant under test.
"""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from contracts.usage.v1 import UsageRecorded
from runtime.calendar import Calendar
from services.billing import queries, use_cases
from services.billing.deps import BillingDeps
from tests.support.stack import billing, running

BERLIN = Calendar("Europe/Berlin")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def usage(tenant_id: str, usage_id: str, cents: int, occurred_at: datetime) -> UsageRecorded:
    return UsageRecorded(
        id=usage_id,
        tenant_id=tenant_id,
        amount_cents=cents,
        quantity=1,
        unit="minute",
        description=usage_id,
        occurred_at=occurred_at,
    )


async def post_at(service, monkeypatch, tenant_id: str, usage_id: str, at: datetime, cents: int = 100) -> None:
    monkeypatch.setattr(use_cases, "utcnow", lambda: at)
    await use_cases.record_usage(deps=BillingDeps(db=service.db), records=[usage(tenant_id, usage_id, cents, at)])


# (usage id, posted at) → the local month it belongs to
SPRING = [
    ("feb-last-second", utc(2026, 2, 28, 22, 59, 59), "2026-02"),
    ("mar-first-minute", utc(2026, 2, 28, 23, 30), "2026-03"),  # 00:30 CET on 1 March
    ("before-switch", utc(2026, 3, 29, 0, 59), "2026-03"),  # 01:59 CET
    ("after-switch", utc(2026, 3, 29, 1, 0), "2026-03"),  # 03:00 CEST
    ("mar-last-second", utc(2026, 3, 31, 21, 59, 59), "2026-03"),
    ("apr-first-minute", utc(2026, 3, 31, 22, 30), "2026-04"),
]  # 00:30 CEST on 1 April
AUTUMN = [
    ("sep-last-second", utc(2026, 9, 30, 21, 59, 59), "2026-09"),
    ("oct-first-minute", utc(2026, 9, 30, 22, 0), "2026-10"),  # 00:00 CEST on 1 October
    ("first-2-30", utc(2026, 10, 25, 0, 30), "2026-10"),  # 02:30 CEST
    ("second-2-30", utc(2026, 10, 25, 1, 30), "2026-10"),  # 02:30 CET, the repeated hour
    ("oct-last-second", utc(2026, 10, 31, 22, 59, 59), "2026-10"),
    ("nov-first-minute", utc(2026, 10, 31, 23, 30), "2026-11"),
]  # 00:30 CET on 1 November


@pytest.mark.parametrize("postings", [SPRING, AUTUMN], ids=["march", "october"])
async def test_statements_split_at_local_midnight_across_a_dst_change(
    nats_url, database_url, new_schema, tenant_id, monkeypatch, postings
):
    service = billing(nats_url, database_url, new_schema())
    async with running(service):
        for usage_id, at, _ in postings:
            await post_at(service, monkeypatch, tenant_id, usage_id, at)
        months = sorted({month for *_, month in postings})
        statements = [
            await queries.statement(db=service.db, tenant_id=tenant_id, month=m, tz="Europe/Berlin") for m in months
        ]

    for month, statement in zip(months, statements, strict=True):
        expected = [uid for uid, _, m in postings if m == month]
        assert [e.reference for e in statement.entries] == expected, month
    for before, after in itertools.pairwise(statements):
        assert after.opening_balance_cents == before.closing_balance_cents  # nothing falls between months
    assert statements[-1].closing_balance_cents == -100 * len(postings)


def last_sunday(year: int, month: int) -> date:
    day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def most_recent(month: int) -> date:
    """The DST Sunday of `month` (3 or 10) that lies within the last year."""
    today = BERLIN.today()
    year = today.year if last_sunday(today.year, month) < today else today.year - 1
    return last_sunday(year, month)


async def test_dashboard_days_follow_the_local_calendar_across_both_dst_changes(
    nats_url, database_url, new_schema, tenant_id
):
    spring, autumn = most_recent(3), most_recent(10)
    # usage by occurred_at: local midnight on each side of the switch, and inside the 25-hour day
    occurred = {
        "spring-day-first-second": (BERLIN.day_start(spring), spring),
        "spring-day-last-second": (BERLIN.day_start(spring + timedelta(days=1)) - timedelta(seconds=1), spring),
        "spring-next-day": (BERLIN.day_start(spring + timedelta(days=1)), spring + timedelta(days=1)),
        "autumn-day-first-second": (BERLIN.day_start(autumn), autumn),
        "autumn-25th-hour": (BERLIN.day_start(autumn) + timedelta(hours=24, minutes=30), autumn),
        "autumn-next-day": (BERLIN.day_start(autumn + timedelta(days=1)), autumn + timedelta(days=1)),
    }
    service = billing(nats_url, database_url, new_schema())
    async with running(service):
        await use_cases.record_usage(
            deps=BillingDeps(db=service.db),
            records=[usage(tenant_id, uid, 100 + i, at) for i, (uid, (at, _)) in enumerate(occurred.items())],
        )
        dashboard = await queries.dashboard(deps=BillingDeps(db=service.db), tenant_id=tenant_id, days=366)
        stored = await _column_types(service)

    by_day = {d.date: d.amount_cents for d in dashboard.usage_by_day if d.amount_cents}
    expected: dict[str, int] = {}
    for i, (_, day) in enumerate(occurred.values()):
        expected[day.isoformat()] = expected.get(day.isoformat(), 0) + 100 + i
    assert by_day == expected
    assert stored == {"timestamp with time zone"}


async def _column_types(service) -> set[str]:
    """Every timestamp column of billing's schema is timestamptz (compared in UTC, never wall-clock)."""
    query = sa.text(
        "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = :s "
        "AND data_type LIKE 'timestamp%'"
    )
    async with service.db.sessions() as session:
        return set((await session.execute(query, {"s": service.db.schema})).scalars())
