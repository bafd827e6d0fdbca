"""Read side for the gateway: balance, transactions (cursor pages), dashboard, statement, profile."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.billing.v1 import (
    AccountProfile,
    Address,
    BalanceReply,
    DashboardReply,
    NextExpiry,
    StatementEntry,
    StatementReply,
    TransactionPage,
    TransactionView,
    UsageDay,
)
from runtime.calendar import Calendar
from runtime.db import Database
from runtime.refusals import Invalid
from services.billing import grants, repository
from services.billing.deps import BillingDeps
from services.billing.domain.runway import WINDOW_DAYS, projected_days_left
from services.billing.tables import Account

tx = repository.transactions


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "s":
            raise ValueError(cursor)
        return int(value)
    except Exception as exc:
        raise ValueError("invalid cursor") from exc


async def promotional_cents(session: AsyncSession, tenant_ids: list[str]) -> dict[str, int]:
    """Σ what each tenant's open grants have left (paid = balance − promotional), one statement for a
    whole page of tenants; `grants.promotional` answers the same for one tenant with its next expiry."""
    if not tenant_ids:
        return {}
    g = grants.grants
    rows = await session.execute(
        sa.select(g.c.tenant_id, sa.func.sum(g.c.remaining_cents))
        .where(g.c.tenant_id.in_(tenant_ids), g.c.status == "open", g.c.remaining_cents > 0)
        .group_by(g.c.tenant_id)
    )
    return {tenant_id: int(total) for tenant_id, total in rows}


def runway_window(calendar: Calendar) -> tuple[datetime, datetime]:
    """The local days whose usage projects `projected_days_left`: the last WINDOW_DAYS, today included.
    The dashboard's usage_by_day ends with exactly these days; the operator's list sums the same span."""
    today = calendar.today()
    return calendar.day_start(today - timedelta(days=WINDOW_DAYS - 1)), calendar.day_start(today + timedelta(days=1))


# The balance now in one statement, so one snapshot (balance, holds and grants agree) and one round
# trip: the account, its active holds, and what its open grants have left, with the soonest expiry
# and what the grants expiring then have left (what `grants.promotional` answers).
# $1 the tenant id, $2 now. The hot reads run on the driver's connection (`Database.reads`).
BALANCE = """
    WITH open_grants AS (
        SELECT remaining_cents, expires_at FROM grants
        WHERE tenant_id = $1 AND status = 'open' AND remaining_cents > 0
    ), soonest AS (
        SELECT min(expires_at) AS at FROM open_grants
    )
    SELECT a.tenant_id IS NOT NULL AS found, a.balance_cents, a.low_balance_threshold_cents, a.updated_at,
        (SELECT coalesce(sum(amount_cents), 0) FROM holds
         WHERE tenant_id = $1 AND status = 'active' AND expires_at > $2) AS held_cents,
        (SELECT coalesce(sum(remaining_cents), 0) FROM open_grants) AS promotional_cents,
        (SELECT at FROM soonest) AS next_expiry_at,
        (SELECT coalesce(sum(remaining_cents), 0) FROM open_grants
         WHERE expires_at = (SELECT at FROM soonest)) AS next_expiry_cents
    FROM (SELECT 1) AS one LEFT JOIN accounts a ON a.tenant_id = $1
"""


async def get_balance(*, deps: BillingDeps, tenant_id: str, as_of: datetime | None = None) -> BalanceReply:
    """The balance now, or as of a past moment (the balance after the last posting before it)."""
    if as_of is not None:
        return await _balance_as_of(deps=deps, tenant_id=tenant_id, at=as_of)
    async with deps.db.reads() as conn:
        return await _balance_now(conn, deps=deps, tenant_id=tenant_id)


async def _balance_now(conn: asyncpg.Connection, *, deps: BillingDeps, tenant_id: str) -> BalanceReply:
    row = await conn.fetchrow(BALANCE, tenant_id, utcnow())
    if not row["found"]:
        return BalanceReply(
            balance_cents=0, available_cents=0, low_balance_threshold_cents=deps.default_threshold_cents
        )
    balance, promotional = row["balance_cents"], int(row["promotional_cents"])
    return BalanceReply(
        balance_cents=balance,
        available_cents=balance - int(row["held_cents"]),
        low_balance_threshold_cents=row["low_balance_threshold_cents"],
        updated_at=row["updated_at"],
        paid_cents=balance - promotional,
        promotional_cents=promotional,
        next_expiry=(
            NextExpiry(amount_cents=int(row["next_expiry_cents"]), expires_at=row["next_expiry_at"])
            if row["next_expiry_at"] is not None
            else None
        ),
    )


async def _balance_as_of(*, deps: BillingDeps, tenant_id: str, at: datetime) -> BalanceReply:
    async with deps.db.sessions() as session:
        account = await session.get(Account, tenant_id)
        row = (
            await session.execute(
                sa.select(tx.c.balance_after_cents, tx.c.created_at)
                .where(tx.c.tenant_id == tenant_id, tx.c.created_at <= at)
                .order_by(tx.c.seq.desc())
                .limit(1)
            )
        ).first()
    balance = row.balance_after_cents if row else 0
    threshold = account.low_balance_threshold_cents if account else deps.default_threshold_cents
    return BalanceReply(  # the split into paid and promotional is not kept per posting: all of it as paid
        balance_cents=balance,
        available_cents=balance,
        paid_cents=balance,
        low_balance_threshold_cents=threshold,
        updated_at=row.created_at if row else None,
    )


async def list_transactions(
    *,
    db: Database,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> TransactionPage:
    query = sa.select(tx).where(tx.c.tenant_id == tenant_id)
    if cursor:
        query = query.where(tx.c.seq < decode_cursor(cursor))
    if kind:
        query = query.where(tx.c.kind == kind)
    if since:
        query = query.where(tx.c.created_at >= since)
    if until:
        query = query.where(tx.c.created_at < until)
    query = query.order_by(tx.c.seq.desc()).limit(limit + 1)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    items = [
        TransactionView(
            id=r.id,
            kind=r.kind,
            amount_cents=r.amount_cents,
            balance_after_cents=r.balance_after_cents,
            description=r.description,
            reference=r.reference,
            created_at=r.created_at,
        )
        for r in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return TransactionPage(items=items, next_cursor=next_cursor)


DASHBOARD_ROWS = (  # $1 the tenant id, $2 the first day's start
    "SELECT kind, amount_cents, quantity, occurred_at FROM ledger_transactions "
    "WHERE tenant_id = $1 AND kind IN ('usage', 'topup') AND occurred_at >= $2"
)


# Run on each pooled connection at start-up (`Database.warm`): a tenant id no tenant has, so they read
# nothing, but each statement is prepared before the first balance or dashboard asks.
WARM_READS = [
    (BALANCE, ("", datetime(2000, 1, 1, tzinfo=UTC))),
    (DASHBOARD_ROWS, ("", datetime(2000, 1, 1, tzinfo=UTC))),
]


async def dashboard(*, deps: BillingDeps, tenant_id: str, days: int) -> DashboardReply:
    calendar = Calendar(deps.timezone)
    first_day = calendar.today() - timedelta(days=days - 1)
    start = calendar.day_start(first_day)
    async with deps.db.reads() as conn:
        rows = await conn.fetch(DASHBOARD_ROWS, tenant_id, start)
        balance = await _balance_now(conn, deps=deps, tenant_id=tenant_id)
    by_day: dict[date, list] = {first_day + timedelta(days=i): [0, 0.0] for i in range(days)}
    topups = 0
    for kind, amount_cents, quantity, occurred_at in rows:
        if kind == "topup":
            topups += amount_cents
            continue
        day = calendar.date_of(occurred_at)
        if day in by_day:
            by_day[day][0] += -amount_cents
            by_day[day][1] += quantity or 0
    usage_days = [UsageDay(date=d.isoformat(), amount_cents=v[0], quantity=v[1]) for d, v in sorted(by_day.items())]
    return DashboardReply(
        balance_cents=balance.balance_cents,
        available_cents=balance.available_cents,
        usage_by_day=usage_days,
        topups_30d_cents=topups,
        usage_30d_cents=sum(d.amount_cents for d in usage_days),
        projected_days_left=projected_days_left(
            available_cents=balance.available_cents, usage_last_days=[d.amount_cents for d in usage_days]
        ),
        paid_cents=balance.paid_cents,
        promotional_cents=balance.promotional_cents,
        next_expiry=balance.next_expiry,
    )


def month_bounds(month: str, tz: str) -> tuple[datetime, datetime]:
    try:
        return Calendar(tz).month_bounds(month)
    except ValueError as exc:
        raise Invalid(f"not a month: {month!r}") from exc


async def statement(*, db: Database, tenant_id: str, month: str, tz: str) -> StatementReply:
    start, end = month_bounds(month, tz)
    async with db.sessions() as session:
        opening = (
            await session.execute(
                sa.select(tx.c.balance_after_cents)
                .where(tx.c.tenant_id == tenant_id, tx.c.created_at < start)
                .order_by(tx.c.seq.desc())
                .limit(1)
            )
        ).scalar() or 0
        rows = (
            await session.execute(
                sa.select(tx)
                .where(tx.c.tenant_id == tenant_id, tx.c.created_at >= start, tx.c.created_at < end)
                .order_by(tx.c.seq)
            )
        ).all()
    entries = [
        StatementEntry(
            transaction_id=r.id,
            kind=r.kind,
            amount_cents=r.amount_cents,
            balance_after_cents=r.balance_after_cents,
            description=r.description,
            reference=r.reference,
            created_at=r.created_at,
        )
        for r in rows
    ]
    closing = entries[-1].balance_after_cents if entries else opening
    return StatementReply(
        tenant_id=tenant_id, month=month, opening_balance_cents=opening, closing_balance_cents=closing, entries=entries
    )


def profile_of(account: Account) -> AccountProfile:
    return AccountProfile(
        tenant_id=account.tenant_id,
        name=account.name,
        email=account.email,
        country=account.country,
        vat_id=account.vat_id,
        phone=account.phone,
        locale=account.locale,
        address=Address(line1=account.address_line1, postal_code=account.postal_code, city=account.city),
        low_balance_threshold_cents=account.low_balance_threshold_cents,
        einvoice_profile=account.einvoice_profile,
        buyer_reference=account.buyer_reference,
    )
