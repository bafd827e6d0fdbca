"""Promotional credit grants: usage burns them first, in API.md's order, never below zero, never after
their expiry, and paid balance last; a grant is recorded once per idempotency key; voiding takes only
what is left, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.base import utcnow
from contracts.billing.v1 import CreateGrant
from runtime.refusals import IdempotencyConflict, Invalid, NotFound
from services.billing import grants, queries, use_cases

from .billing_books import balance, entries_total, paid, postings, refunded, unbalanced_transactions, usage


def new_tenant() -> str:
    return f"grt_{uuid.uuid4().hex[:12]}"


async def open_account(billing, tenant: str, paid_cents: int = 0) -> None:
    """An account exists once something was posted to it: a paid top-up (or nothing paid at all)."""
    if paid_cents:
        await use_cases.credit_topup(deps=billing, paid=paid(tenant, f"{tenant}-top", paid_cents))
    else:
        await use_cases.record_usage(deps=billing, records=[usage(tenant, f"{tenant}-zero", 0)])


async def grant(billing, tenant: str, cents: int, *, key: str | None = None, **fields):
    req = CreateGrant(
        tenant_id=tenant,
        amount_cents=cents,
        reason=fields.pop("reason", "Startguthaben"),
        idempotency_key=key or uuid.uuid4().hex,
        **fields,
    )
    return (await grants.create_grant(deps=billing, req=req)).grant


async def debit(billing, tenant: str, *amounts: int) -> None:
    await use_cases.record_usage(
        deps=billing, records=[usage(tenant, f"{tenant}-{uuid.uuid4().hex[:8]}", a) for a in amounts]
    )


async def remaining(billing, tenant: str) -> dict[str, int]:
    return {g.id: g.remaining_cents for g in (await grants.list_grants(deps=billing, tenant_id=tenant)).items}


async def allocations(billing, tenant: str) -> list[tuple[str, str, int]]:
    """(usage transaction, grant, cents) in the order they were drawn."""
    async with billing.db.sessions() as s:
        query = sa.text(
            "SELECT a.transaction_id, a.grant_id, a.amount_cents FROM grant_allocations a "
            "JOIN ledger_transactions t ON t.id = a.transaction_id WHERE t.tenant_id = :t ORDER BY a.id"
        )
        return [tuple(r) for r in (await s.execute(query, {"t": tenant})).all()]


async def expire_now(billing, grant_id: str) -> None:
    """Let a grant's expiry pass (its expiry is only ever allowed in the future when it is made)."""
    async with billing.db.transaction() as s:
        await s.execute(
            sa.text("UPDATE grants SET expires_at = now() - interval '1 second' WHERE id = :g"), {"g": grant_id}
        )


async def test_a_grant_credits_the_balance_as_promotional_credit_with_its_reason(billing):
    tenant = new_tenant()
    await open_account(billing, tenant, 1_000)

    g = await grant(billing, tenant, 2_500, reason="Willkommensguthaben")

    assert (g.amount_cents, g.remaining_cents, g.priority, g.expires_at) == (2_500, 2_500, 100, None)
    assert await postings(billing.db, tenant) == [("topup", 1_000, 1_000), ("grant", 2_500, 3_500)]
    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    assert (shown.balance_cents, shown.paid_cents, shown.promotional_cents) == (3_500, 1_000, 2_500)
    assert shown.next_expiry is None
    async with billing.db.sessions() as s:
        description, contra = (
            await s.execute(
                sa.text(
                    "SELECT t.description, e.account FROM ledger_transactions t JOIN ledger_entries e "
                    "ON e.transaction_id = t.id WHERE t.tenant_id = :t AND t.kind = 'grant' AND e.amount_cents < 0"
                ),
                {"t": tenant},
            )
        ).one()
    assert (description, contra) == ("Willkommensguthaben", "platform:promotions")


async def test_usage_burns_grants_in_priority_then_expiry_then_age_order_and_paid_balance_last(billing):
    tenant = new_tenant()
    await open_account(billing, tenant, 1_000)
    soon = utcnow() + timedelta(days=3)
    never = await grant(billing, tenant, 100)
    later = await grant(billing, tenant, 100, expires_at=soon + timedelta(days=1))
    older_soon = await grant(billing, tenant, 100, expires_at=soon)
    younger_soon = await grant(billing, tenant, 100, expires_at=soon)
    first = await grant(billing, tenant, 100, priority=5)

    await debit(billing, tenant, 50, 120, 200, 150, 100)  # 620: all 500 of the grants, then 120 paid

    drawn = [(g, c) for _, g, c in await allocations(billing, tenant)]
    assert drawn == [
        (first.id, 50),
        (first.id, 50),
        (older_soon.id, 70),
        (older_soon.id, 30),
        (younger_soon.id, 100),
        (later.id, 70),
        (later.id, 30),
        (never.id, 100),
    ]
    assert set((await remaining(billing, tenant)).values()) == {0}
    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    assert (shown.balance_cents, shown.paid_cents, shown.promotional_cents) == (880, 880, 0)


async def test_a_debit_beyond_every_grant_takes_the_rest_from_paid_balance_even_below_zero(billing):
    tenant = new_tenant()
    await open_account(billing, tenant, 300)
    g = await grant(billing, tenant, 200)

    await debit(billing, tenant, 1_000)

    assert await allocations(billing, tenant) == [(await _usage_tx(billing, tenant), g.id, 200)]
    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    assert (shown.balance_cents, shown.paid_cents, shown.promotional_cents) == (-500, -500, 0)


async def _usage_tx(billing, tenant: str) -> str:
    async with billing.db.sessions() as s:
        query = sa.text(
            "SELECT id FROM ledger_transactions WHERE tenant_id = :t AND kind = 'usage' AND amount_cents < 0"
        )
        return (await s.execute(query, {"t": tenant})).scalar_one()


async def test_an_expired_grant_is_never_drawn_even_before_the_expiry_job_closed_it(billing):
    tenant = new_tenant()
    await open_account(billing, tenant, 1_000)
    g = await grant(billing, tenant, 500, expires_at=utcnow() + timedelta(hours=1))
    await expire_now(billing, g.id)

    await debit(billing, tenant, 300)

    assert await allocations(billing, tenant) == []
    assert await remaining(billing, tenant) == {g.id: 500}


async def test_refunds_and_operator_debits_take_paid_balance_only(billing):
    tenant = new_tenant()
    await open_account(billing, tenant, 1_000)
    g = await grant(billing, tenant, 500)

    await use_cases.record_refund(
        deps=billing,
        refund=refunded(tenant, f"{tenant}-r", f"{tenant}-top", 400),
    )

    assert await remaining(billing, tenant) == {g.id: 500}
    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    assert (shown.balance_cents, shown.paid_cents, shown.promotional_cents) == (1_100, 600, 500)


async def test_the_same_grant_request_is_recorded_once_and_another_body_is_a_conflict(billing):
    tenant = new_tenant()
    await open_account(billing, tenant)
    expires = utcnow() + timedelta(days=30)

    answers = await asyncio.gather(
        *(grant(billing, tenant, 1_000, key="k-1", expires_at=expires, priority=7) for _ in range(10))
    )

    assert len({a.id for a in answers}) == 1
    assert [p for p in await postings(billing.db, tenant) if p[0] == "grant"] == [("grant", 1_000, 1_000)]
    with pytest.raises(IdempotencyConflict):
        await grant(billing, tenant, 1_000, key="k-1", expires_at=expires, priority=8)
    with pytest.raises(IdempotencyConflict):
        await grant(billing, tenant, 1_000, key="k-1", expires_at=expires + timedelta(seconds=1), priority=7)


async def test_bad_grants_are_refused_and_change_nothing(billing):
    tenant = new_tenant()
    await open_account(billing, tenant)
    with pytest.raises(Invalid):
        await grant(billing, tenant, 1_000, reason="   ")
    with pytest.raises(Invalid):
        await grant(billing, tenant, 1_000, expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        await grant(billing, new_tenant(), 1_000)
    assert await remaining(billing, tenant) == {}
    assert await balance(billing.db, tenant) == 0


async def test_voiding_takes_only_what_is_left_as_one_expiry_and_voiding_again_changes_nothing(billing):
    tenant = new_tenant()
    await open_account(billing, tenant, 1_000)
    g = await grant(billing, tenant, 500, reason="Kampagne Dezember")
    await debit(billing, tenant, 200)

    voided = await grants.void_grant(deps=billing, grant_id=g.id)
    again = await grants.void_grant(deps=billing, grant_id=g.id)

    assert voided.created and voided.grant.remaining_cents == 0
    assert not again.created and again.grant == voided.grant
    kinds = await postings(billing.db, tenant)
    assert kinds[-1] == ("expiry", -300, 1_000) and [k for k, *_ in kinds].count("expiry") == 1
    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    assert (shown.balance_cents, shown.paid_cents, shown.promotional_cents) == (1_000, 1_000, 0)
    with pytest.raises(NotFound):
        await grants.void_grant(deps=billing, grant_id="grt_nope")


async def test_next_expiry_is_what_the_grants_expiring_soonest_have_left(billing):
    tenant = new_tenant()
    await open_account(billing, tenant)
    soon = utcnow() + timedelta(days=2)
    await grant(billing, tenant, 300, expires_at=soon)
    await grant(billing, tenant, 200, expires_at=soon)
    await grant(billing, tenant, 900, expires_at=soon + timedelta(days=5))
    await debit(billing, tenant, 100)

    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    assert shown.next_expiry is not None
    assert (shown.next_expiry.amount_cents, shown.next_expiry.expires_at) == (400, soon)
    board = await queries.dashboard(deps=billing, tenant_id=tenant, days=30)
    assert (board.paid_cents, board.promotional_cents, board.next_expiry) == (0, 1_300, shown.next_expiry)


grant_specs = st.lists(
    st.tuples(st.integers(1, 500), st.sampled_from([0, 5, 100]), st.sampled_from([None, 1, 2, -1])),
    min_size=1,
    max_size=5,
)  # (amount, priority, expiry: None = never, n = in n days, -1 = already passed)
debits = st.lists(st.lists(st.integers(0, 400), min_size=1, max_size=4), min_size=1, max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=grant_specs, batches=debits)
async def test_any_debits_draw_exactly_their_amount_in_burn_order_and_never_below_zero(billing, specs, batches):
    tenant = new_tenant()
    await open_account(billing, tenant, 100)
    made = []
    for cents, priority, days in specs:
        g = await grant(billing, tenant, cents, priority=priority, expires_at=utcnow() + timedelta(days=abs(days or 1)))
        if days is None:
            async with billing.db.transaction() as s:
                await s.execute(sa.text("UPDATE grants SET expires_at = NULL WHERE id = :g"), {"g": g.id})
        elif days < 0:
            await expire_now(billing, g.id)
        made.append(g.id)
    async with billing.db.sessions() as s:
        rows = (await s.execute(sa.text("SELECT * FROM grants WHERE tenant_id = :t"), {"t": tenant})).all()
    order = [
        r.id
        for r in sorted(
            rows, key=lambda r: (r.priority, r.expires_at is None, r.expires_at or r.created_at, r.created_at, r.id)
        )
    ]
    expired = {r.id for r in rows if r.expires_at is not None and r.expires_at <= utcnow()}

    for batch in batches:
        await debit(billing, tenant, *batch)

    drawn = await allocations(billing, tenant)
    per_tx: dict[str, int] = {}
    for tx, _, cents in drawn:
        per_tx[tx] = per_tx.get(tx, 0) + cents
    async with billing.db.sessions() as s:
        usage_amounts = dict(
            (
                await s.execute(
                    sa.text(
                        "SELECT id, -amount_cents FROM ledger_transactions WHERE tenant_id = :t AND kind = 'usage'"
                    ),
                    {"t": tenant},
                )
            ).all()
        )
    live_total = sum(r.amount_cents for r in rows if r.id not in expired)
    total_debited = sum(sum(b) for b in batches)
    assert sum(per_tx.values()) == min(total_debited, live_total)  # Σ allocations: what the grants could give
    assert all(per_tx[tx] <= usage_amounts[tx] for tx in per_tx)  # never more than the debit
    assert not {g for _, g, _ in drawn} & expired  # an expired grant is never drawn
    left = await remaining(billing, tenant)
    assert all(v >= 0 for v in left.values())
    assert all(left[g] + sum(c for _, gg, c in drawn if gg == g) == r.amount_cents for r in rows for g in [r.id])
    sequence = [g for _, g, _ in drawn]
    assert sequence == sorted(sequence, key=order.index)  # burn order: a later grant only once earlier ones are empty
    touched = sorted(set(sequence), key=order.index)
    assert all(left[g] == 0 for g in touched[:-1])
    # each debit took from grants what it could, the rest from paid balance
    for tx, amount in usage_amounts.items():
        assert per_tx.get(tx, 0) == amount or all(left[g] == 0 for g in order if g not in expired) or amount == 0
    assert await balance(billing.db, tenant) == await entries_total(billing.db, tenant)
    assert await unbalanced_transactions(billing.db, tenant) == 0
    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    assert shown.promotional_cents == sum(left.values()) and shown.paid_cents == shown.balance_cents - sum(
        left.values()
    )
