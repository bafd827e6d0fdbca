"""Property: any interleaving of credits, debits (with duplicates), holds and refunds, run through
the use cases on real PostgreSQL, keeps the books right — and replaying the whole input changes nothing.

Checked after every example: balance == Σ the tenant's entries == the model; every transaction's
entries sum to zero and so do all entries of the schema (double entry); each source applied once;
available == balance − active holds ≤ balance (holds are never negative).
"""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from contracts.billing.v1 import Release, Reserve, Settle
from contracts.payments.v1 import PaymentRefunded, TopupPaid
from contracts.usage.v1 import UsageRecorded
from runtime.db import Database
from runtime.migrations import upgrade
from services.billing import queries, reservations, use_cases
from services.billing.app import MIGRATIONS
from services.billing.deps import BillingDeps
from services.payments.domain.bonus import bonus_for, parse_tiers
from tests.integration.billing.ledger_model import Model, operations

NOW = datetime(2026, 11, 26, 10, tzinfo=UTC)
TIERS = parse_tiers("10000:5,25000:10,50000:15")


def usage(tenant: str, usage_id: str, cents: int) -> UsageRecorded:
    return UsageRecorded(id=f"{tenant}-{usage_id}", tenant_id=tenant, amount_cents=cents, occurred_at=NOW)


async def run(db: Database, tenant: str, ops: list, model: Model | None) -> list:
    """Apply `ops`; with a model, also advance it and drop refunds of top-ups never credited."""
    deps = BillingDeps(db=db)
    done = []
    for kind, key, cents in ops:
        if kind == "topup":
            await use_cases.credit_topup(
                deps=deps,
                paid=TopupPaid(
                    tenant_id=tenant,
                    topup_id=f"{tenant}-tp{key}",
                    amount_cents=cents,
                    bonus_cents=bonus_for(cents, TIERS),
                    payment_intent_id=f"pi{key}",
                    paid_at=NOW,
                ),
            )
            if model is not None:
                model.topup(key, cents)
        elif kind == "usage":
            twice = [usage(tenant, f"u{key}", cents)] * 2  # a duplicate inside one batch, too
            await use_cases.record_usage(deps=deps, records=twice)
            if model is not None:
                model.usage(f"u{key}", cents)
        elif kind == "refund":
            if model is not None and key[1] not in model.topups:
                continue  # payments only refunds paid top-ups
            topup = f"{tenant}-tp{key[1]}"
            await use_cases.record_refund(
                deps=deps,
                refund=PaymentRefunded(
                    tenant_id=tenant,
                    refund_id=f"{tenant}-rf{key}",
                    topup_id=topup,
                    payment_intent_id="pi",
                    amount_cents=cents,
                    topup_amount_cents=0,
                    refunded_at=NOW,
                ),
            )
            if model is not None:
                model.refund(key, cents)
        elif kind == "reserve":
            reply = await reservations.reserve(
                deps=deps, req=Reserve(id=f"{tenant}-r{key}", tenant_id=tenant, amount_cents=cents)
            )
            if model is not None:
                assert reply.ok == model.reserve(key, cents)
        elif kind == "settle":
            rid = await reservation_id(db, f"{tenant}-r{key[0]}")
            if not rid:  # answered not_found: it never happened, so a replay must not make it happen
                continue
            if rid:
                req = Settle(reservation_id=rid, usage=usage(tenant, f"u{key[1]}", cents))
                await reservations.settle(deps=deps, req=req)
            if model is not None:
                model.settle(key[0], f"u{key[1]}", cents)
        elif kind == "release":
            rid = await reservation_id(db, f"{tenant}-r{key}")
            if not rid:  # answered not_found: it never happened, so a replay must not make it happen
                continue
            if rid:
                await reservations.release(deps=deps, req=Release(reservation_id=rid))
            if model is not None:
                model.release(key)
        else:  # time passes for this hold: it expires
            if not await reservation_id(db, f"{tenant}-r{key}"):  # no hold yet: nothing happened
                continue
            async with db.transaction() as s:
                await s.execute(
                    sa.text(
                        "UPDATE holds SET expires_at = now() - interval '1 second' "
                        "WHERE request_id = :r AND status = 'active'"
                    ),
                    {"r": f"{tenant}-r{key}"},
                )
            await reservations.expire_holds(db=db)
            if model is not None:
                model.expire(key)
        done.append((kind, key, cents))
    return done


async def reservation_id(db: Database, request_id: str) -> str | None:
    async with db.sessions() as s:
        return (
            await s.execute(
                sa.text("SELECT id FROM holds WHERE request_id = :r AND status <> 'refused'"), {"r": request_id}
            )
        ).scalar()


async def books(db: Database, tenant: str) -> dict:
    q = {
        "balance": "SELECT balance_cents FROM accounts WHERE tenant_id = :t",
        "entries": "SELECT coalesce(sum(amount_cents), 0) FROM ledger_entries WHERE account = 'tenant:' || :t",
        "unbalanced": "SELECT count(*) FROM (SELECT e.transaction_id FROM ledger_entries e JOIN ledger_transactions x "
        "ON x.id = e.transaction_id WHERE x.tenant_id = :t GROUP BY 1 HAVING sum(e.amount_cents) <> 0) u",
        "all_entries": "SELECT coalesce(sum(amount_cents), 0) FROM ledger_entries",
        "sources": "SELECT array_agg(source_key ORDER BY source_key) FROM ledger_transactions WHERE tenant_id = :t",
        "last_after": "SELECT balance_after_cents FROM ledger_transactions WHERE tenant_id = :t "
        "ORDER BY seq DESC LIMIT 1",
        "holds": "SELECT array_agg(request_id || '=' || status ORDER BY request_id) FROM holds WHERE tenant_id = :t",
    }
    async with db.sessions() as s:
        out = {k: (await s.execute(sa.text(sql), {"t": tenant})).scalar() for k, sql in q.items()}
    reply = await queries.get_balance(deps=BillingDeps(db=db), tenant_id=tenant)
    out["available"] = reply.available_cents
    return out


async def check_example(database_url: str, schema: str, ops: list) -> None:
    db, tenant, model = Database(database_url, schema, pool_size=2), f"prop_{uuid.uuid4().hex[:10]}", Model()
    try:
        applied = await run(db, tenant, ops, model)
        first = await books(db, tenant)
        assert (first["balance"] or 0) == first["entries"] == model.balance
        assert first["unbalanced"] == 0 and first["all_entries"] == 0
        sources = first["sources"] or []
        assert len(sources) == len(set(sources))  # no source applied twice
        assert (first["last_after"] or 0) == model.balance
        assert first["available"] == model.balance - model.held <= model.balance
        await run(db, tenant, applied, None)  # the whole input once more
        assert await books(db, tenant) == first
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def property_schema(database_url, created_schemas):
    """One migrated schema for every example (each example uses a fresh tenant)."""
    schema = f"prop_{uuid.uuid4().hex[:10]}"
    created_schemas.append(schema)

    async def migrate():
        db = Database(database_url, schema)
        await upgrade(db, MIGRATIONS)
        await db.dispose()

    asyncio.run(migrate())
    return schema


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=operations())
def test_any_interleaving_keeps_the_books_and_replaying_changes_nothing(database_url, property_schema, ops):
    asyncio.run(check_example(database_url, property_schema, ops))
