"""SIGKILL the billing process in the middle of a burst of 5,000 usage records, start it again:
every record is debited exactly once (the consuming transaction claims the ids in the inbox and
commits before the acks; what was delivered but not acked is redelivered and found already claimed).
"""

import asyncio
import json
import os
import signal
import subprocess
import sys

import asyncpg
import pytest

from devtools.infra import ROOT, service_nats_env
from runtime.messaging import ensure_streams
from tests.support.stack import eventually, nats_client

BURST = 5000


def start_billing(nats_url: str, database_url: str, schema: str, **settings: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **service_nats_env(nats_url, "billing"),
        "BILLING_DATABASE_URL": database_url,
        "DB_SCHEMA": schema,
        "PORT": "0",
        "APP_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "USAGE_BATCH_SIZE": "100",
        **settings,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.billing", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def count(conn, schema: str) -> int:
    try:
        return await conn.fetchval(f'SELECT count(*) FROM "{schema}".ledger_transactions')
    except asyncpg.UndefinedTableError:
        return 0


@pytest.mark.slow
async def test_sigkill_mid_burst_then_restart_debits_every_record_exactly_once(
    nats_url, database_url, new_schema, tenant_id
):
    schema = new_schema()
    amounts = [(i % 97) + 1 for i in range(BURST)]
    payloads = [(f"{tenant_id}-{i}", usage_payload(f"{tenant_id}-{i}", tenant_id, amounts[i])) for i in range(BURST)]
    conn = await asyncpg.connect(database_url)
    proc = start_billing(nats_url, database_url, schema)
    try:
        async with nats_client(nats_url) as nc:
            js = nc.jetstream()
            await ensure_streams(js)
            burst = asyncio.create_task(_publish_slowly(js, payloads))
            await eventually(lambda: _at_least(count(conn, schema), BURST // 5), timeout=120)
            proc.send_signal(signal.SIGKILL)  # mid-burst: batches in flight, acks unsent, outbox unpublished
            proc.wait(10)
            killed_at = await count(conn, schema)
            assert 0 < killed_at < BURST
            await burst
            proc = start_billing(nats_url, database_url, schema)
            await eventually(lambda: _at_least(count(conn, schema), BURST), timeout=180)
            await asyncio.sleep(1)  # redeliveries of unacked messages come back; none may count twice
        rows = await conn.fetch(f'SELECT reference, amount_cents FROM "{schema}".ledger_transactions')
        balance = await conn.fetchval(f'SELECT balance_cents FROM "{schema}".accounts WHERE tenant_id = $1', tenant_id)
        entries = await conn.fetchval(f'SELECT sum(amount_cents) FROM "{schema}".ledger_entries')
        assert len(rows) == BURST == len({r["reference"] for r in rows})
        assert balance == -sum(amounts) and entries == 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
        await conn.close()


def usage_payload(usage_id: str, tenant_id: str, cents: int) -> bytes:
    return json.dumps(
        {"id": usage_id, "tenant_id": tenant_id, "amount_cents": cents, "occurred_at": "2026-11-26T10:00:00Z"}
    ).encode()


async def _publish_slowly(js, payloads) -> None:
    for i in range(0, len(payloads), 250):  # a burst over a few seconds, so the kill lands inside it
        await asyncio.gather(
            *(
                js.publish("usage.recorded.v1", body, headers={"Nats-Msg-Id": mid})
                for mid, body in payloads[i : i + 250]
            )
        )
        await asyncio.sleep(0.05)


async def _at_least(awaitable, n: int) -> bool:
    return (await awaitable) >= n
