"""The operator's tenant overview (GET /admin/v1/tenants and /admin/v1/tenants/{id}): read side only.

A tenant here is an account with a profile (made by the admin API's CreateAccount); an account that
early usage created for an id nobody registered is not listed. A page costs the same few statements
whatever its size: the accounts with their auto top-up rule (one join), their holds, their usage in
the runway window and their promotional credit — each for the whole page, never one per tenant.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.billing.v1 import (
    ListTenants,
    OperatorAutoTopupView,
    TenantOverview,
    TenantPage,
    TenantSummary,
)
from runtime.calendar import Calendar
from runtime.keyset import decode_cursor, encode_cursor
from runtime.refusals import NotFound
from runtime.tables import table_of
from services.billing import queries, repository
from services.billing.autotopup import settings_api, store
from services.billing.autotopup.tables import AutoTopupSetting
from services.billing.deps import BillingDeps
from services.billing.domain import autotopup as rules
from services.billing.domain.runway import projected_days_left
from services.billing.tables import Account

tx = repository.transactions
accounts = table_of(Account).c
settings = store.settings_table.c
charges = store.charges_table.c


def _search(statement, query: str):
    """Part of the name or email in any case, or the start of the id (an exact id is its own prefix).
    LIKE's wildcards in the query are literal (`autoescape`): `ten_` is an id's prefix, not a pattern."""
    text = query.strip()
    if not text:
        return statement
    return statement.where(
        sa.or_(
            accounts.name.icontains(text, autoescape=True),
            accounts.email.icontains(text, autoescape=True),
            accounts.tenant_id.startswith(text, autoescape=True),
        )
    )


async def list_tenants(*, deps: BillingDeps, req: ListTenants) -> TenantPage:
    """Newest first (created_at, then id, both descending), a keyset cursor after the page's last one."""
    statement = (
        sa.select(Account, AutoTopupSetting)
        .outerjoin(AutoTopupSetting, settings.tenant_id == accounts.tenant_id)
        .where(accounts.name != "")
        .order_by(accounts.created_at.desc(), accounts.tenant_id.desc())
        .limit(req.limit + 1)
    )
    if req.cursor:
        at, last_id = decode_cursor(req.cursor)
        statement = statement.where(sa.tuple_(accounts.created_at, accounts.tenant_id) < sa.tuple_(at, last_id))
    async with deps.db.sessions() as session:
        rows = (await session.execute(_search(statement, req.query))).all()
        page = rows[: req.limit]
        summaries = await _summaries(session, deps, [(r.Account, r.AutoTopupSetting) for r in page])
    next_cursor = None
    if len(rows) > req.limit:
        last = page[-1].Account
        next_cursor = encode_cursor(last.created_at, last.tenant_id)
    return TenantPage(items=summaries, next_cursor=next_cursor)


async def get_tenant(*, deps: BillingDeps, tenant_id: str) -> TenantOverview:
    async with deps.db.sessions() as session:
        account = await session.get(Account, tenant_id)
        if account is None or not account.name:
            raise NotFound("tenant not found")
        setting = await session.get(AutoTopupSetting, tenant_id)
        [summary] = await _summaries(session, deps, [(account, setting)])
        promotional = (await queries.promotional_cents(session, [tenant_id])).get(tenant_id, 0)
        last_failure = await _last_failure_code(session, tenant_id)
    view = settings_api.view_of(setting or store.new_setting(tenant_id, deps.autotopup, utcnow()))
    return TenantOverview(
        tenant=summary,
        paid_cents=account.balance_cents - promotional,
        promotional_cents=promotional,
        autotopup=OperatorAutoTopupView(**view.model_dump(), last_failure_reason=last_failure),
    )


async def _summaries(
    session: AsyncSession, deps: BillingDeps, rows: list[tuple[Account, AutoTopupSetting | None]]
) -> list[TenantSummary]:
    """Two statements for any number of tenants: their active holds and their usage in the runway window."""
    ids = [account.tenant_id for account, _ in rows]
    if not ids:
        return []
    held = await repository.held_cents(session, ids, now=utcnow())
    usage = await _runway_usage(session, ids, Calendar(deps.timezone))
    summaries = []
    for account, setting in rows:
        available = account.balance_cents - held.get(account.tenant_id, 0)
        summaries.append(
            TenantSummary(
                id=account.tenant_id,
                name=account.name,
                email=account.email,
                balance_cents=account.balance_cents,
                available_cents=available,
                # the dashboard's function over the same days: the two numbers always agree
                projected_days_left=projected_days_left(
                    available_cents=available, usage_last_days=[usage.get(account.tenant_id, 0)]
                ),
                autotopup_state=rules.view_state(store.rule_of(setting)) if setting else "disabled",
            )
        )
    return summaries


async def _runway_usage(session: AsyncSession, tenant_ids: list[str], calendar: Calendar) -> dict[str, int]:
    """Usage (positive cents) per tenant over the runway window, by `occurred_at` as the dashboard counts it."""
    start, end = queries.runway_window(calendar)
    statement = (
        sa.select(tx.c.tenant_id, sa.func.coalesce(sa.func.sum(-tx.c.amount_cents), 0))
        .where(
            tx.c.tenant_id.in_(tenant_ids),
            tx.c.kind == "usage",
            tx.c.occurred_at >= start,
            tx.c.occurred_at < end,
        )
        .group_by(tx.c.tenant_id)
    )
    return {tenant_id: int(cents) for tenant_id, cents in (await session.execute(statement)).all()}


async def _last_failure_code(session: AsyncSession, tenant_id: str) -> str | None:
    """Why the tenant's most recent failed auto top-up charge failed (payments' reason code)."""
    statement = (
        sa.select(charges.failure_code)
        .where(charges.tenant_id == tenant_id, charges.status == "failed")
        .order_by(charges.updated_at.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar()
