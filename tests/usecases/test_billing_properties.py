"""Property: whatever the usage and top-up messages, however often each is delivered, in whichever order
and by two consumers at once, the balance equals the sum of the tenant's entries and each id counts once."""

import asyncio
import uuid

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.billing import use_cases

from .billing_books import balance, entries_total, paid, unbalanced_transactions, usage

usages = st.dictionaries(st.integers(0, 30), st.integers(0, 5000), max_size=12)  # usage id → its amount
topups = st.dictionaries(st.integers(0, 5), st.tuples(st.integers(1000, 50000), st.integers(0, 5000)), max_size=4)


def cut(draw, messages: list) -> list[list]:
    """Cut `messages` into batches (a batch is one fetch of a consumer: one transaction for its usage)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(messages)), max_size=4)))
    return [messages[a:b] for a, b in zip([0, *cuts], [*cuts, len(messages)], strict=True) if a < b]


@st.composite
def deliveries(draw):
    """Each message one or more times, shuffled and batched, for two consumers that both receive all of it
    (one in reverse order): a redelivery racing the first delivery."""
    used, paid_ = draw(usages), draw(topups)
    messages = [("usage", key) for key in used] + [("topup", key) for key in paid_]
    extra = draw(st.lists(st.sampled_from(messages), max_size=8)) if messages else []
    shuffled = draw(st.permutations(messages + extra))
    return used, paid_, cut(draw, shuffled), cut(draw, shuffled[::-1])


async def consume(billing, tenant: str, used: dict, paid_: dict, batches: list) -> None:
    for batch in batches:
        records = [usage(tenant, f"{tenant}-u{key}", used[key]) for kind, key in batch if kind == "usage"]
        if records:
            await use_cases.record_usage(deps=billing, records=records)
        for kind, key in batch:
            if kind == "topup":
                cents, bonus = paid_[key]
                await use_cases.credit_topup(deps=billing, paid=paid(tenant, f"{tenant}-t{key}", cents, bonus))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delivered=deliveries())
async def test_any_deliveries_keep_balance_equal_to_entries_and_count_each_id_once(billing, delivered):
    used, paid_, first, second = delivered
    tenant = f"prop_{uuid.uuid4().hex[:12]}"

    await asyncio.gather(consume(billing, tenant, used, paid_, first), consume(billing, tenant, used, paid_, second))

    expected = sum(cents + bonus for cents, bonus in paid_.values()) - sum(used.values())
    assert await balance(billing.db, tenant) == await entries_total(billing.db, tenant) == expected
    assert await unbalanced_transactions(billing.db, tenant) == 0
    async with billing.db.sessions() as s:
        keys = (
            (await s.execute(sa.text("SELECT source_key FROM ledger_transactions WHERE tenant_id = :t"), {"t": tenant}))
            .scalars()
            .all()
        )
    assert sorted(k for k in keys if k.startswith("usage:")) == sorted(f"usage:{tenant}-u{k}" for k in used)
    assert len(keys) == len(set(keys))  # no usage, top-up or bonus booked twice
