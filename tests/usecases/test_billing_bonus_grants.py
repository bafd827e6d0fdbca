"""BONUS_EXPIRES_AFTER_DAYS: the top-up bonus as promotional credit that usage burns first and that
expires; a refund's bonus reversal takes the bonus grant back first and never takes an expired bonus
twice. Unset (the default), the bonus is plain balance as before."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from contracts.base import utcnow
from services.billing import grant_expiry, queries, use_cases

from .billing_books import paid, postings, refunded, unbalanced_transactions
from .test_billing_grants import allocations, debit, new_tenant, remaining


def expiring_bonus(billing, days: int = 30):
    return dataclasses.replace(billing, bonus_expires_after_days=days)


async def test_without_the_setting_the_bonus_stays_plain_balance(billing):
    tenant = new_tenant()
    await use_cases.credit_topup(deps=billing, paid=paid(tenant, f"{tenant}-t", 10_000, 500))

    assert await remaining(billing, tenant) == {}
    shown = await queries.get_balance(deps=billing, tenant_id=tenant)
    assert (shown.paid_cents, shown.promotional_cents) == (10_500, 0)


async def test_an_expiring_bonus_is_burnt_first_and_what_is_left_expires(billing):
    deps = expiring_bonus(billing, days=30)
    tenant = new_tenant()
    before = utcnow()
    await use_cases.credit_topup(deps=deps, paid=paid(tenant, f"{tenant}-t", 10_000, 500))
    await debit(deps, tenant, 200)

    shown = await queries.get_balance(deps=deps, tenant_id=tenant)
    assert (shown.balance_cents, shown.paid_cents, shown.promotional_cents) == (10_300, 10_000, 300)
    assert shown.next_expiry is not None and shown.next_expiry.amount_cents == 300
    expires = shown.next_expiry.expires_at
    assert before + timedelta(days=30) <= expires <= utcnow() + timedelta(days=30)
    assert [k for k, *_ in await postings(deps.db, tenant)] == ["topup", "bonus", "usage"]

    await grant_expiry.run(deps=deps, now=expires)

    assert (await postings(deps.db, tenant))[-1] == ("expiry", -300, 10_000)
    assert list((await remaining(deps, tenant)).values()) == [0]


async def test_a_refund_reverses_the_bonus_from_the_bonus_grant_first(billing):
    deps = expiring_bonus(billing)
    tenant = new_tenant()
    await use_cases.credit_topup(deps=deps, paid=paid(tenant, f"{tenant}-t", 10_000, 1_000))
    await debit(deps, tenant, 600)  # 600 of the bonus burnt, 400 left

    await use_cases.record_refund(deps=deps, refund=refunded(tenant, f"{tenant}-r", f"{tenant}-t", 10_000))

    kinds = await postings(deps.db, tenant)
    assert kinds[-2:] == [("refund", -10_000, 400), ("bonus", -1_000, -600)]  # the whole bonus, as PRODUCT.md says
    assert list((await remaining(deps, tenant)).values()) == [0]  # 400 of it from the grant, 600 from paid
    assert sorted(c for _, _, c in await allocations(deps, tenant)) == [400, 600]
    shown = await queries.get_balance(deps=deps, tenant_id=tenant)
    assert (shown.balance_cents, shown.paid_cents, shown.promotional_cents) == (-600, -600, 0)
    assert await unbalanced_transactions(deps.db, tenant) == 0


async def test_a_refund_after_the_bonus_expired_does_not_take_the_expired_part_again(billing):
    deps = expiring_bonus(billing, days=80)
    tenant = new_tenant()
    await use_cases.credit_topup(deps=deps, paid=paid(tenant, f"{tenant}-t", 10_000, 1_000))
    await debit(deps, tenant, 250)  # 250 of the bonus used, 750 will expire
    expires = (await queries.get_balance(deps=deps, tenant_id=tenant)).next_expiry.expires_at
    await grant_expiry.run(deps=deps, now=expires)

    await use_cases.record_refund(deps=deps, refund=refunded(tenant, f"{tenant}-r", f"{tenant}-t", 10_000))

    kinds = await postings(deps.db, tenant)
    assert kinds[-3:] == [("expiry", -750, 10_000), ("refund", -10_000, 0), ("bonus", -250, -250)]
