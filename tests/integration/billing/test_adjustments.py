"""Billing records an operator adjustment once per (tenant, idempotency key), as a double entry against
`platform:adjustments`, whoever asks and however often at once — and refuses an account it does not know."""

import asyncio

import sqlalchemy as sa

from contracts.billing.v1 import AccountProfile, CreateAccount, CreateAdjustment, GetBalance
from runtime.db import Database
from runtime.messaging import ServiceError, request
from tests.support.stack import billing, nats_client, running


async def test_concurrent_requests_with_one_key_book_one_double_entry(nats_url, database_url, new_schema, tenant_id):
    schema = new_schema("bil")
    async with running(billing(nats_url, database_url, schema)), nats_client(nats_url) as nc:
        await request(
            nc, CreateAccount(profile=AccountProfile(tenant_id=tenant_id, name="Muster", email="a@b.example"))
        )
        ask = CreateAdjustment(tenant_id=tenant_id, amount_cents=2_500, reason="Kulanz", idempotency_key="k1")
        replies = await asyncio.gather(*(request(nc, ask, timeout=30) for _ in range(10)))
        assert sorted(r.created for r in replies) == [False] * 9 + [True]
        assert len({r.adjustment.model_dump_json() for r in replies}) == 1
        assert (await request(nc, GetBalance(tenant_id=tenant_id))).balance_cents == 2_500

        unknown = CreateAdjustment(tenant_id="ten_unknown", amount_cents=100, reason="Kulanz", idempotency_key="k1")
        try:
            await request(nc, unknown)
        except ServiceError as exc:
            assert exc.code == "not_found"
        else:
            raise AssertionError("an adjustment of an unknown account was recorded")

    db = Database(database_url, schema)
    try:
        async with db.sessions() as s:
            by_account = dict(
                (await s.execute(sa.text("SELECT account, sum(amount_cents) FROM ledger_entries GROUP BY account")))
                .tuples()
                .all()
            )
            rows = (await s.execute(sa.text("SELECT count(*) FROM adjustments"))).scalar()
    finally:
        await db.dispose()
    assert by_account == {f"tenant:{tenant_id}": 2_500, "platform:adjustments": -2_500}
    assert rows == 1
