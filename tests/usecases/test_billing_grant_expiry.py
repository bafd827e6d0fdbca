"""A grant's expiry, exactly once: what it has left at `expires_at` leaves as one `expiry` entry with
`credits.expired`, whatever the number of runners and whatever debit races it; `credits.expiring`
goes out once, the notice period before (at once for a grant that expires sooner)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.base import utcnow
from services.billing import grant_expiry, grants, queries, use_cases

from .billing_books import postings, unbalanced_transactions, usage
from .test_billing_grants import allocations, debit, grant, new_tenant, open_account, remaining


async def expiry_entries(billing, tenant: str) -> list[tuple[str, int]]:
    async with billing.db.sessions() as s:
        query = sa.text(
            "SELECT reference, amount_cents FROM ledger_transactions WHERE tenant_id = :t AND kind = 'expiry' "
            "ORDER BY seq"
        )
        return [tuple(r) for r in (await s.execute(query, {"t": tenant})).all()]


async def portal_events(outbox, event_type: str, tenant: str) -> list[dict]:
    return [p.data for p in await outbox.on(f"portal.{event_type}.v1") if p.payload.get("tenant_id") == tenant]


async def test_what_a_grant_has_left_at_its_expiry_leaves_as_one_entry_with_its_reason(billing, billing_outbox):
    tenant = new_tenant()
    await open_account(billing, tenant, 1_000)
    expires = utcnow() + timedelta(days=30)
    g = await grant(billing, tenant, 800, expires_at=expires, reason="Testphase Dezember")
    await debit(billing, tenant, 300)

    await grant_expiry.run(deps=billing, now=expires - timedelta(seconds=1))
    assert await expiry_entries(billing, tenant) == []
    await grant_expiry.run(deps=billing, now=expires)
    await grant_expiry.run(deps=billing, now=expires + timedelta(days=1))

    assert await expiry_entries(billing, tenant) == [(g.id, -500)]
    assert (await postings(billing.db, tenant))[-1] == ("expiry", -500, 1_000 + 800 - 300 - 500)
    async with billing.db.sessions() as s:
        description = (
            await s.execute(
                sa.text("SELECT description FROM ledger_transactions WHERE tenant_id = :t AND kind = 'expiry'"),
                {"t": tenant},
            )
        ).scalar_one()
    assert description == "Testphase Dezember"
    assert await portal_events(billing_outbox, "credits.expired", tenant) == [{"grant_id": g.id, "amount_cents": 500}]
    assert await remaining(billing, tenant) == {g.id: 0}
    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    assert (shown.balance_cents, shown.paid_cents, shown.promotional_cents, shown.next_expiry) == (
        1_000,
        1_000,
        0,
        None,
    )
    assert await unbalanced_transactions(billing.db, tenant) == 0


async def test_two_runners_at_once_expire_each_grant_once(billing, billing_outbox):
    tenants = [new_tenant() for _ in range(4)]
    expires = utcnow() + timedelta(days=40)
    made = {}
    for tenant in tenants:
        await open_account(billing, tenant, 100)
        made[tenant] = [(await grant(billing, tenant, 100 + i, expires_at=expires)).id for i in range(3)]

    await asyncio.gather(*(grant_expiry.run(deps=billing, now=expires) for _ in range(2)))

    for tenant in tenants:
        entries = await expiry_entries(billing, tenant)
        assert sorted(entries) == sorted((gid, -(100 + i)) for i, gid in enumerate(made[tenant]))
        expired = await portal_events(billing_outbox, "credits.expired", tenant)
        assert sorted(e["grant_id"] for e in expired) == sorted(made[tenant])


async def test_an_expiry_racing_a_debit_on_the_same_grant_either_lets_it_draw_or_expires_it_never_both(billing):
    """The expiry job (told it is `expires_at`) and a debit (at the real time, before it) queue on the
    account lock in either order: each cent of the grant is drawn or expired, exactly once."""
    tenants = [new_tenant() for _ in range(12)]
    expires = utcnow() + timedelta(days=50)
    made = {}
    for tenant in tenants:
        await open_account(billing, tenant, 1_000)
        made[tenant] = await grant(billing, tenant, 500, expires_at=expires)

    async def debit_all() -> None:
        for tenant in tenants:
            await debit(billing, tenant, 300)

    async def expire() -> None:
        for _ in range(len(tenants)):
            await grant_expiry.expire_due(deps=billing, now=expires, limit=1)
            await asyncio.sleep(0)

    await asyncio.gather(debit_all(), expire())
    await grant_expiry.expire_due(deps=billing, now=expires)

    outcomes = set()
    for tenant in tenants:
        drawn = sum(c for _, _, c in await allocations(billing, tenant))
        expired = -sum(a for _, a in await expiry_entries(billing, tenant))
        assert drawn + expired == 500, (tenant, drawn, expired)
        assert len(await expiry_entries(billing, tenant)) <= 1
        assert await remaining(billing, tenant) == {made[tenant].id: 0}
        shown = await queries.get_balance(deps=billing, tenant_id=tenant)
        assert shown.balance_cents == 1_000 + 500 - 300 - expired
        assert shown.paid_cents == shown.balance_cents and shown.promotional_cents == 0
        outcomes.add(drawn)
    assert outcomes  # which order won differs per tenant and run; the sum never does


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    grant_cents=st.lists(st.integers(1, 400), min_size=1, max_size=3),
    batches=st.lists(st.lists(st.integers(1, 300), min_size=1, max_size=3), min_size=1, max_size=5),
    head_start=st.integers(0, 4),
)
async def test_any_debits_racing_the_expiry_use_or_expire_each_cent_of_each_grant_exactly_once(
    billing, grant_cents, batches, head_start
):
    """Property: whatever the amounts and whichever side gets the account lock first (`head_start`
    scheduler turns for the debits), each grant's cents are drawn or expired, exactly once, and the
    balance is what was granted and paid minus what was used and what expired."""
    tenant = new_tenant()
    await open_account(billing, tenant, 1_000)
    expires = utcnow() + timedelta(days=60)
    made = {(await grant(billing, tenant, cents, expires_at=expires)).id: cents for cents in grant_cents}

    async def debits() -> None:
        for batch in batches:
            await debit(billing, tenant, *batch)

    async def expire() -> None:
        for _ in range(head_start):
            await asyncio.sleep(0)
        await grant_expiry.expire_due(deps=billing, now=expires)

    await asyncio.gather(debits(), expire())
    await grant_expiry.expire_due(deps=billing, now=expires)

    drawn: dict[str, int] = dict.fromkeys(made, 0)
    for _, gid, cents in await allocations(billing, tenant):
        drawn[gid] += cents
    left = {gid: -cents for gid, cents in await expiry_entries(billing, tenant)}
    assert len(left) == len(await expiry_entries(billing, tenant))  # at most one entry per grant
    for gid, cents in made.items():
        assert drawn[gid] + left.get(gid, 0) == cents, (gid, drawn[gid], left.get(gid))
        assert drawn[gid] >= 0 and left.get(gid, 0) >= 0
    assert await remaining(billing, tenant) == dict.fromkeys(made, 0)
    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    used = sum(map(sum, batches))
    assert shown.balance_cents == 1_000 + sum(made.values()) - used - sum(left.values())
    assert shown.promotional_cents == 0 and shown.paid_cents == shown.balance_cents
    assert await unbalanced_transactions(billing.db, tenant) == 0


async def test_an_expiry_waits_for_a_debit_in_progress_and_expires_only_what_the_debit_left(billing):
    tenant = new_tenant()
    await open_account(billing, tenant, 1_000)
    expires = utcnow() + timedelta(days=55)
    g = await grant(billing, tenant, 500, expires_at=expires)

    async with billing.db.transaction() as session:  # a debit's batch, not committed yet
        await use_cases.post_entries(
            session, [use_cases.Entry(tenant, use_cases.usage_posting(usage(tenant, f"{tenant}-u", 300)))], deps=billing
        )
        job = asyncio.create_task(grant_expiry.expire_due(deps=billing, now=expires))
        await asyncio.sleep(0.3)
        assert not job.done()  # it queues on the tenant's account, as any posting does
    await job

    assert [c for _, _, c in await allocations(billing, tenant)] == [300]
    assert await expiry_entries(billing, tenant) == [(g.id, -200)]


async def test_credits_expiring_is_sent_once_the_notice_period_before(billing, billing_outbox):
    tenant = new_tenant()
    await open_account(billing, tenant)
    expires = utcnow() + timedelta(days=60)
    g = await grant(billing, tenant, 700, expires_at=expires)
    assert await portal_events(billing_outbox, "credits.expiring", tenant) == []

    await grant_expiry.run(deps=billing, now=expires - timedelta(days=8))
    assert await portal_events(billing_outbox, "credits.expiring", tenant) == []
    await asyncio.gather(*(grant_expiry.run(deps=billing, now=expires - timedelta(days=7)) for _ in range(2)))
    await grant_expiry.run(deps=billing, now=expires - timedelta(days=1))

    sent = await portal_events(billing_outbox, "credits.expiring", tenant)
    assert [(e["grant_id"], e["amount_cents"]) for e in sent] == [(g.id, 700)]
    assert sent[0]["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M"))


async def test_a_grant_that_expires_within_the_notice_period_is_announced_when_it_is_made(billing, billing_outbox):
    tenant = new_tenant()
    await open_account(billing, tenant)
    g = await grant(billing, tenant, 250, expires_at=utcnow() + timedelta(days=2))
    await grant_expiry.send_notices(deps=billing, now=utcnow())

    sent = await portal_events(billing_outbox, "credits.expiring", tenant)
    assert [(e["grant_id"], e["amount_cents"]) for e in sent] == [(g.id, 250)]


async def test_a_used_up_or_voided_grant_expires_without_an_entry(billing, billing_outbox):
    tenant = new_tenant()
    await open_account(billing, tenant, 1_000)
    expires = utcnow() + timedelta(days=70)
    used = await grant(billing, tenant, 100, expires_at=expires)
    voided = await grant(billing, tenant, 100, expires_at=expires)
    await debit(billing, tenant, 100)
    await grants.void_grant(deps=billing, grant_id=voided.id)

    await grant_expiry.run(deps=billing, now=expires)

    assert await expiry_entries(billing, tenant) == [(voided.id, -100)]  # the void's, nothing more
    assert await portal_events(billing_outbox, "credits.expired", tenant) == []
    assert await remaining(billing, tenant) == {used.id: 0, voided.id: 0}
