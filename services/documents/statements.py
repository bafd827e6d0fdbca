"""Monthly statements: asked for (pending at once, rendered in the background), and by the monthly job
for the previous month (the one path after a month ends: billing.month.closed.v1 is retired).
One per tenant and month; a statement of the
current month is "to date" and keyed by its day, so the month's final statement still follows.
"""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from contracts.base import new_id, utcnow
from contracts.billing.v1 import GetStatement, StatementReply
from runtime import csv_format
from runtime.inbox import claim_period
from runtime.messaging import request
from runtime.refusals import Invalid
from services.documents import profiles
from services.documents.context import Deps
from services.documents.issuing import Draft, issue
from services.documents.rendering import StatementData, StatementEntry
from services.documents.tables import documents

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MONTHLY_JOB = "monthly-statements"
FIRST_MONTH = "2000-01"  # no tenant has transactions before; earlier years are refused, not rendered empty


def previous_month(month: str) -> str:
    year, mon = (int(p) for p in month.split("-"))
    return f"{year - (mon == 1)}-{(mon - 2) % 12 + 1:02d}"


def source_key(deps: Deps, tenant_id: str, month: str) -> str:
    if not MONTH.match(month):
        raise Invalid(f"month must be YYYY-MM, got {month!r}")
    current = deps.current_month()
    if month > current:
        raise Invalid(f"{month} has not begun yet")
    if month < FIRST_MONTH:
        raise Invalid(f"statements begin with {FIRST_MONTH}, got {month}")
    return f"{tenant_id}:{month}@{deps.today().isoformat()}" if month == current else f"{tenant_id}:{month}"


async def _open(session, *, tenant_id: str, month: str, key: str) -> None:
    await session.execute(
        pg_insert(documents)
        .values(
            id=new_id("doc_")[:40],
            tenant_id=tenant_id,
            kind="statement",
            source_key=key,
            status="pending",
            month=month,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )


async def open_statement(*, deps: Deps, tenant_id: str, month: str) -> sa.Row:
    """The tenant's statement of `month`, pending until rendered; created when missing."""
    key = source_key(deps, tenant_id, month)
    async with deps.db.transaction() as session:
        await _open(session, tenant_id=tenant_id, month=month, key=key)
        query = sa.select(documents).where(documents.c.kind == "statement", documents.c.source_key == key)
        return (await session.execute(query)).one()


async def open_month_for_all(*, deps: Deps, holder: str) -> list[str]:
    """Once per month across replicas: a pending statement of the previous month per known tenant."""
    month = previous_month(deps.current_month())
    tenants = await profiles.known_tenants(db=deps.db)
    if not tenants:  # nothing to issue yet: leave the month unclaimed for a later round
        return []
    async with deps.db.transaction() as session:
        if not await claim_period(session, job=MONTHLY_JOB, period=month, holder=holder):
            return []
        for tenant_id in tenants:
            await _open(session, tenant_id=tenant_id, month=month, key=f"{tenant_id}:{month}")
    return tenants


async def pending_ids(*, deps: Deps, older_than_s: float = 0) -> list[str]:
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    query = (
        sa.select(documents.c.id)
        .where(documents.c.kind == "statement", documents.c.status == "pending", documents.c.created_at <= cutoff)
        .order_by(documents.c.created_at)
    )
    async with deps.db.sessions() as session:
        return list((await session.execute(query)).scalars())


async def complete(*, deps: Deps, document_id: str) -> str | None:
    """Render and issue a pending statement (a no-op once issued); answers its number."""
    async with deps.db.sessions() as session:
        row = (await session.execute(sa.select(documents).where(documents.c.id == document_id))).one()
    if row.status != "pending":
        return row.number
    nc = deps.nats()
    tenant = await profiles.load(db=deps.db, nc=nc, tenant_ids=[row.tenant_id], timeout=deps.billing_timeout_s)
    reply = await request(nc, GetStatement(tenant_id=row.tenant_id, month=row.month), timeout=deps.billing_timeout_s)
    profile, today = tenant[row.tenant_id], deps.today()
    draft = Draft(
        tenant_id=row.tenant_id,
        kind="statement",
        source_key=row.source_key,
        document_id=row.id,
        month=row.month,
        csv=statement_csv(deps, reply, locale=profile.locale),
        build=lambda number: StatementData(
            number=number,
            issue_date=today,
            month=row.month,
            seller=deps.seller,
            tenant=profiles.buyer(profile),
            opening_balance_cents=reply.opening_balance_cents,
            closing_balance_cents=reply.closing_balance_cents,
            entries=_entries(deps, reply),
            locale=profile.locale,
        ),
    )
    async with deps.db.transaction() as session:
        numbers = await issue(session, [draft], kind="statement", issue_date=today, issuer=deps.issuer)
    return numbers[0] if numbers else None


def statement_csv(deps: Deps, reply: StatementReply, *, locale: str) -> bytes:
    """The statement's entries with its opening and closing balance, in the transactions export's format."""
    start, end = deps.calendar.month_bounds(reply.month)
    labels = ("Anfangssaldo", "Endsaldo") if locale == "de" else ("Opening balance", "Closing balance")

    def local(moment) -> str:
        return moment.astimezone(deps.calendar.zone).isoformat(timespec="seconds")

    rows = [
        ["", "opening_balance", "", csv_format.euros(reply.opening_balance_cents, locale), labels[0], "", local(start)]
    ]
    rows += [
        [
            e.transaction_id,
            e.kind,
            csv_format.euros(e.amount_cents, locale),
            csv_format.euros(e.balance_after_cents, locale),
            csv_format.text(e.description),
            csv_format.text(e.reference),
            local(e.created_at),
        ]
        for e in reply.entries
    ]
    rows.append(
        [
            "",
            "closing_balance",
            "",
            csv_format.euros(reply.closing_balance_cents, locale),
            labels[1],
            "",
            local(min(end, utcnow())),
        ]
    )
    return csv_format.document(csv_format.TRANSACTION_FIELDS, rows).encode("utf-8")


def _entries(deps: Deps, reply: StatementReply) -> tuple[StatementEntry, ...]:
    return tuple(
        StatementEntry(
            date=deps.local_date(e.created_at),
            kind=e.kind,
            description=e.description,
            reference=e.reference or e.transaction_id,
            amount_cents=e.amount_cents,
            balance_after_cents=e.balance_after_cents,
        )
        for e in reply.entries
    )
