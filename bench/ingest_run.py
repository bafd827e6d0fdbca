"""One path of the ingestion benchmark: a fixed workload of usage records, timed from its first send
to its last debit committed by billing, then every debit checked (balances, one transaction per id).

The NATS path publishes the records as a platform on NATS would (`usage.recorded.v1`, asynchronous
publishes, `Nats-Msg-Id`); the HTTP path posts them to `POST /ingest/v1/events` as CloudEvents in
batches of 100 from `concurrency` clients at once, each batch sent again only if it is refused.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

import httpx

from bench.ledger_ceilings import publish_many, usage_payload

BATCH_TYPE = "application/cloudevents-batch+json"
OCCURRED_AT = "2026-11-26T10:00:00Z"


@dataclass
class Workload:
    name: str
    records: list[tuple[str, str, int]]  # (usage id, tenant, cents)
    expected: dict[str, int] = field(default_factory=dict)  # tenant → balance after every debit

    @property
    def tenants(self) -> list[str]:
        return list(self.expected)


def workload(name: str, *, records: int, tenants: int, seed: int) -> Workload:
    rng = random.Random(seed)
    work = Workload(name, [], dict.fromkeys((f"{name}-tenant-{i:03d}" for i in range(tenants)), 0))
    for i in range(records):
        tenant, cents = rng.choice(work.tenants), rng.randint(1, 50)
        work.records.append((f"{name}-{i}", tenant, cents))
        work.expected[tenant] -= cents
    return work


async def send_on_nats(js, work: Workload) -> None:
    await publish_many(
        js, "usage.recorded.v1", [(uid, usage_payload(uid, tenant, cents)) for uid, tenant, cents in work.records]
    )


def _cloud_event(uid: str, tenant: str, cents: int) -> dict:
    return {
        "specversion": "1.0",
        "id": uid,
        "source": "/bench",
        "type": "usage.recorded",
        "subject": tenant,
        "time": OCCURRED_AT,
        "data": {"amount_cents": cents, "quantity": 1, "unit": "minute", "description": "call"},
    }


async def send_over_http(base: str, key: str, work: Workload, *, batch: int = 100, concurrency: int = 8) -> int:
    """Post every record in batches; answers how many batches had to be sent again (any non-202)."""
    bodies = asyncio.Queue()
    for i in range(0, len(work.records), batch):
        bodies.put_nowait(json.dumps([_cloud_event(*r) for r in work.records[i : i + batch]]).encode())
    resent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": BATCH_TYPE}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as http:

        async def sender() -> None:
            nonlocal resent
            while not bodies.empty():
                body = bodies.get_nowait()
                while (await http.post("/ingest/v1/events", content=body)).status_code != 202:
                    resent += 1
                    await asyncio.sleep(0.1)

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return resent


async def debited(conn, schema: str, work: Workload, *, started: float, timeout: float = 300) -> dict:
    """Wait until every record of `work` is a committed debit; the rate from `started` (time.time())
    to the last one's commit, and whether every balance and every id came out exact."""
    tenants, deadline = work.tenants, time.monotonic() + timeout
    count_sql = f'SELECT count(*) FROM "{schema}".ledger_transactions WHERE tenant_id = ANY($1)'
    while await conn.fetchval(count_sql, tenants) < len(work.records) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    last = await conn.fetchval(
        f'SELECT max(created_at) FROM "{schema}".ledger_transactions WHERE tenant_id = ANY($1)', tenants
    )
    await asyncio.sleep(1)  # anything after the last debit would be a double one
    references = await conn.fetchval(
        f'SELECT count(DISTINCT reference) FROM "{schema}".ledger_transactions WHERE tenant_id = ANY($1)', tenants
    )
    rows = await conn.fetchval(count_sql, tenants)
    balances = dict(
        await conn.fetch(f'SELECT tenant_id, balance_cents FROM "{schema}".accounts WHERE tenant_id = ANY($1)', tenants)
    )
    exact = rows == references == len(work.records) and balances == work.expected
    return {"rate": len(work.records) / (last.timestamp() - started), "exact": exact}
