"""A debit batch as the consumer takes it under load (hundreds of usage records, written with COPY) books
exactly what the same usage books in small batches (written with one INSERT per table): the same
postings, balances, entries, grant allocations and events, in the same order."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import sqlalchemy as sa

from contracts.billing.v1 import CreateGrant
from contracts.usage.v1 import UsageRecorded
from runtime.db import COPY_FROM
from runtime.outbox import BUNDLE_FROM
from services.billing import grants, use_cases

from .billing_books import NOW, balance, entries_total, paid, unbalanced_transactions, usage

PER_POSTING = ("portal.transaction.created.v1", "portal.balance.low.v1", "portal.balance.depleted.v1")
TENANTS = 4
RECORDS = 300  # one batch, well above COPY_FROM and BUNDLE_FROM


def records_for(tenants: list[str], seed: int) -> list[UsageRecorded]:
    """Usage over the tenants, with every column a record can carry and duplicates inside the batch."""
    rng = random.Random(seed)
    made = []
    for n in range(RECORDS):
        t = rng.randrange(len(tenants))
        made.append(
            UsageRecorded(
                id=f"{tenants[t]}-u{n}",
                tenant_id=tenants[t],
                amount_cents=rng.randint(0, 900),
                quantity=rng.choice([1, 2.5, 60]),
                unit=rng.choice(["minute", "sms"]),
                description=rng.choice(["", "Anruf nach Köln", 'quote " and \\ backslash']),
                occurred_at=NOW + timedelta(seconds=n),
            )
        )
    return made + made[::37]  # redelivered inside the batch: debited once


async def books(billing, tenant: str) -> tuple:
    async with billing.db.sessions() as s:
        rows = (
            await s.execute(
                sa.text(
                    "SELECT x.kind, x.amount_cents, x.balance_after_cents, x.description, x.quantity, "
                    # a top-up's or grant's ids and moment are the run's own; a usage's come from its record
                    "CASE WHEN x.kind = 'usage' THEN ARRAY[x.reference, x.source_key, x.occurred_at::text] END, "
                    "array_agg(e.account || '=' || e.amount_cents ORDER BY e.id), "
                    "(SELECT array_agg(a.amount_cents ORDER BY a.id) FROM grant_allocations a "
                    " WHERE a.transaction_id = x.id) "
                    "FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id "
                    "WHERE x.tenant_id = :t GROUP BY x.seq ORDER BY x.seq"
                ),
                {"t": tenant},
            )
        ).all()
    return tuple(tuple(r) for r in rows)


GENERATED = ("id", "transaction_id", "created_at")  # ids, and the moment each transaction was booked


def normalized(value, tenant: str, index: int):
    """A row or event of tenant `index` of its set, with the tenant's name and generated ids left out."""
    if isinstance(value, str):
        return value.replace(tenant, f"T{index}")
    if isinstance(value, tuple | list):
        return type(value)(normalized(v, tenant, index) for v in value)
    if isinstance(value, dict):
        return {k: normalized(v, tenant, index) for k, v in value.items() if k not in GENERATED}
    return value


async def test_a_large_batch_books_exactly_what_small_batches_book(billing, billing_outbox):
    assert RECORDS >= COPY_FROM and RECORDS >= BUNDLE_FROM
    runs = {}
    for mode in ("one batch", "batches of 10"):
        tenants = [f"big_{uuid.uuid4().hex[:10]}" for _ in range(TENANTS)]
        await use_cases.credit_topup(deps=billing, paid=paid(tenants[0], f"{tenants[0]}-t", 20000))  # alerts
        await use_cases.record_usage(deps=billing, records=[usage(tenants[1], f"{tenants[1]}-open", 0)])
        for cents, priority in ((700, 1), (500, 2)):  # usage burns grants first
            await grants.create_grant(
                deps=billing,
                req=CreateGrant(
                    tenant_id=tenants[1],
                    amount_cents=cents,
                    reason="Start",
                    idempotency_key=uuid.uuid4().hex,
                    priority=priority,
                ),
            )
        since = len(await billing_outbox.all())
        records = records_for(tenants, seed=7)
        if mode == "one batch":
            await use_cases.record_usage(deps=billing, records=records)
        else:
            for i in range(0, len(records), 10):
                await use_cases.record_usage(deps=billing, records=records[i : i + 10])
        events = [(p.subject, p.payload) for p in (await billing_outbox.all())[since:]]
        per_tenant = []
        for i, t in enumerate(tenants):
            assert await balance(billing.db, t) == await entries_total(billing.db, t)
            assert await unbalanced_transactions(billing.db, t) == 0
            per_posting = [  # transaction.created and the alerts, in order (balance.updated is per batch)
                normalized((s, p["data"]), t, i) for s, p in events if p["tenant_id"] == t and s in PER_POSTING
            ]
            per_tenant.append((await balance(billing.db, t), normalized(await books(billing, t), t, i), per_posting))
        runs[mode] = (per_tenant, events)

    (big, big_events), (small, _) = runs["one batch"], runs["batches of 10"]
    assert big == small  # postings, balances, entries, allocations, events per posting: all alike
    assert len([s for s, _ in big_events if s == "portal.transaction.created.v1"]) == RECORDS
    assert {s for s, _ in big_events} >= {"portal.balance.low.v1", "portal.balance.depleted.v1"}  # in the batch
    assert any(allocated for *_, allocated in big[1][1])  # grants were drawn
