"""Holds through billing's use cases: reserve, settle (debit the actual usage), release; each idempotent."""

import asyncio

import sqlalchemy as sa

from contracts.billing.v1 import Release, Reserve, Settle
from services.billing import queries, reservations, use_cases

from .billing_books import balance, paid, postings, usage


async def funded(billing, tenant_id: str, cents: int = 10000) -> None:
    await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, f"{tenant_id}-funds", cents))


async def available(billing, tenant_id: str) -> int:
    return (await queries.get_balance(deps=billing, tenant_id=tenant_id)).available_cents


async def test_reserve_then_settle_debits_the_actual_usage_and_frees_the_rest(billing, billing_outbox, tenant_id):
    await funded(billing, tenant_id)
    hold = await reservations.reserve(
        deps=billing, req=Reserve(id=f"{tenant_id}-r", tenant_id=tenant_id, amount_cents=3000)
    )
    assert (hold.ok, hold.available_cents) == (True, 7000)
    assert await balance(billing.db, tenant_id) == 10000  # a hold moves no money

    done = await reservations.settle(
        deps=billing, req=Settle(reservation_id=hold.reservation_id, usage=usage(tenant_id, f"{tenant_id}-u", 1800))
    )
    assert (done.ok, done.balance_cents, done.available_cents) == (True, 8200, 8200)
    assert (await postings(billing.db, tenant_id))[-1] == ("usage", -1800, 8200)
    assert [e.data["amount_cents"] for e in await billing_outbox.on("portal.transaction.created.v1")] == [10000, -1800]


async def test_release_gives_the_hold_back_without_moving_money(billing, tenant_id):
    await funded(billing, tenant_id)
    hold = await reservations.reserve(
        deps=billing, req=Reserve(id=f"{tenant_id}-r", tenant_id=tenant_id, amount_cents=4000)
    )
    released = [
        await reservations.release(deps=billing, req=Release(reservation_id=hold.reservation_id)) for _ in range(2)
    ]

    assert [(r.ok, r.available_cents) for r in released] == [(True, 10000), (True, 10000)]
    assert await postings(billing.db, tenant_id) == [("topup", 10000, 10000)]


async def test_reserve_beyond_the_available_balance_is_refused_and_stays_refused(billing, tenant_id):
    await funded(billing, tenant_id, 1000)
    first = await reservations.reserve(
        deps=billing, req=Reserve(id=f"{tenant_id}-a", tenant_id=tenant_id, amount_cents=800)
    )
    request = Reserve(id=f"{tenant_id}-b", tenant_id=tenant_id, amount_cents=300)  # 200 are available
    refused = await reservations.reserve(deps=billing, req=request)
    assert first.ok and (refused.ok, refused.reservation_id, refused.available_cents) == (False, None, 200)

    await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, f"{tenant_id}-more", 5000))
    again = await reservations.reserve(deps=billing, req=request)  # a retry of the refused id: never a late hold
    assert (again.ok, again.available_cents) == (False, 5200)


async def test_same_reserve_id_holds_once_even_when_racing(billing, tenant_id):
    await funded(billing, tenant_id)
    request = Reserve(id=f"{tenant_id}-r", tenant_id=tenant_id, amount_cents=2500)
    replies = await asyncio.gather(*(reservations.reserve(deps=billing, req=request) for _ in range(4)))

    assert {r.reservation_id for r in replies} == {replies[0].reservation_id} and all(r.ok for r in replies)
    assert await available(billing, tenant_id) == 7500


async def test_settling_twice_debits_once_and_answers_the_same_transaction(billing, tenant_id):
    await funded(billing, tenant_id)
    hold = await reservations.reserve(
        deps=billing, req=Reserve(id=f"{tenant_id}-r", tenant_id=tenant_id, amount_cents=3000)
    )
    settle = Settle(reservation_id=hold.reservation_id, usage=usage(tenant_id, f"{tenant_id}-u", 2000))
    replies = await asyncio.gather(*(reservations.settle(deps=billing, req=settle) for _ in range(3)))

    assert {r.transaction_id for r in replies} == {replies[0].transaction_id} and all(r.ok for r in replies)
    assert await balance(billing.db, tenant_id) == 8000
    released = await reservations.release(deps=billing, req=Release(reservation_id=hold.reservation_id))
    assert released.available_cents == 8000  # releasing a settled hold frees nothing twice


async def test_settling_a_usage_already_debited_on_the_stream_does_not_debit_it_again(billing, tenant_id):
    await funded(billing, tenant_id)
    record = usage(tenant_id, f"{tenant_id}-u", 700)
    await use_cases.record_usage(deps=billing, records=[record])
    hold = await reservations.reserve(
        deps=billing, req=Reserve(id=f"{tenant_id}-r", tenant_id=tenant_id, amount_cents=1000)
    )
    done = await reservations.settle(deps=billing, req=Settle(reservation_id=hold.reservation_id, usage=record))

    assert (done.ok, done.balance_cents, done.available_cents) == (True, 9300, 9300)
    assert [p for p in await postings(billing.db, tenant_id) if p[0] == "usage"] == [("usage", -700, 9300)]


async def test_an_expired_hold_stops_counting_and_its_late_settle_debits_the_usage_once(billing, tenant_id):
    """The hold lapses, the usage it covered was still consumed: a late settle debits it (never rejected)."""
    await funded(billing, tenant_id)
    hold = await reservations.reserve(
        deps=billing, req=Reserve(id=f"{tenant_id}-r", tenant_id=tenant_id, amount_cents=6000, ttl_s=60)
    )
    async with billing.db.transaction() as s:  # a minute passes for this hold
        await s.execute(
            sa.text("UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = :h"),
            {"h": hold.reservation_id},
        )
    assert await available(billing, tenant_id) == 10000
    assert await reservations.expire_holds(db=billing.db) >= 1

    late = Settle(reservation_id=hold.reservation_id, usage=usage(tenant_id, f"{tenant_id}-u", 2500))
    replies = [await reservations.settle(deps=billing, req=late) for _ in range(2)]
    assert [(r.ok, r.balance_cents, r.available_cents) for r in replies] == [(True, 7500, 7500)] * 2
    assert [p for p in await postings(billing.db, tenant_id) if p[0] == "usage"] == [("usage", -2500, 7500)]


async def test_a_reservation_of_another_tenant_cannot_be_settled(billing, tenant_id):
    await funded(billing, tenant_id)
    hold = await reservations.reserve(
        deps=billing, req=Reserve(id=f"{tenant_id}-r", tenant_id=tenant_id, amount_cents=1000)
    )
    stranger = f"{tenant_id}-x"
    reply = await reservations.settle(
        deps=billing, req=Settle(reservation_id=hold.reservation_id, usage=usage(stranger, f"{tenant_id}-u", 500))
    )

    assert (reply.ok, reply.error["code"]) == (False, "not_found")
    assert await postings(billing.db, stranger) == [] and await balance(billing.db, tenant_id) == 10000
