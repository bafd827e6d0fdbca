"""The operator's tenant list costs the same few statements for a page of 20 tenants as for a page of 2,
and its runway is the number each tenant's dashboard shows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from contracts.base import utcnow
from contracts.billing.v1 import AccountProfile, ListTenants, Reserve
from contracts.usage.v1 import UsageRecorded
from runtime.db import Database
from services.billing import accounts, queries, reservations, tenant_overview, use_cases
from services.billing.deps import BillingDeps

from .billing_books import paid


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def tenants_with_usage(billing: BillingDeps, prefix: str, count: int) -> list[str]:
    """`count` tenants, each credited, with usage of its own size today and every third with a hold."""
    ids = [f"{prefix}-{n:02d}" for n in range(count)]
    for n, tenant_id in enumerate(ids):
        profile = AccountProfile(tenant_id=tenant_id, name=f"{prefix} Kunde {n}", email=f"{n}@{prefix}.example")
        await accounts.create_account(db=billing.db, profile=profile)
        await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, f"{tenant_id}-t", 10_000))
    await use_cases.record_usage(
        deps=billing,
        records=[
            UsageRecorded(id=f"{t}-u", tenant_id=t, amount_cents=100 * (n + 1), occurred_at=utcnow())
            for n, t in enumerate(ids)
        ],
    )
    for tenant_id in ids[::3]:
        reply = await reservations.reserve(
            deps=billing, req=Reserve(id=f"{tenant_id}-r", tenant_id=tenant_id, amount_cents=500)
        )
        assert reply.ok
    return ids


async def statements_for_a_page(billing: BillingDeps, prefix: str, limit: int):
    with counted_statements(billing.db) as statements:
        page = await tenant_overview.list_tenants(deps=billing, req=ListTenants(query=prefix, limit=limit))
    return page, len(statements)


async def test_a_page_of_twenty_costs_as_few_statements_as_a_page_of_two(billing):
    prefix = "ovq" + uuid.uuid4().hex[:8]
    ids = await tenants_with_usage(billing, prefix, 20)

    page, statements = await statements_for_a_page(billing, prefix, limit=20)
    _, statements_for_two = await statements_for_a_page(billing, prefix, limit=2)

    assert [item.id for item in page.items] == ids[::-1]
    assert statements <= 4  # the page (with the rules), its holds, its usage: never one per tenant
    assert statements == statements_for_two


async def test_the_lists_runway_is_each_tenants_dashboard_runway(billing):
    prefix = "ovd" + uuid.uuid4().hex[:8]
    await tenants_with_usage(billing, prefix, 5)
    page = await tenant_overview.list_tenants(deps=billing, req=ListTenants(query=prefix))

    for item in page.items:
        dashboard = await queries.dashboard(deps=billing, tenant_id=item.id, days=30)
        assert (item.available_cents, item.projected_days_left) == (
            dashboard.available_cents,
            dashboard.projected_days_left,
        )
    # (10,000 − usage − hold) · 7 // usage: five different runways, none of them the "no usage" None
    assert len({item.projected_days_left for item in page.items}) == 5
    assert None not in {item.projected_days_left for item in page.items}
