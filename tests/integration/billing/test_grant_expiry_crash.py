"""SIGKILL a billing process while its expiry run holds due grants in an open transaction, then run two
replicas: every grant leaves as exactly one `expiry` entry and one `credits.expired`, and the killed run
left no grant closed without its entry nor an entry without its grant closed."""

import asyncio
import json
import signal
import uuid
from collections import Counter
from datetime import timedelta

import asyncpg
import pytest

from contracts.base import utcnow
from contracts.billing.v1 import AccountProfile, CreateAccount, CreateGrant
from runtime.messaging import request
from tests.support.stack import eventually, nats_client

from .test_crash import start_billing

SWEEP = {"GRANT_SWEEP_S": "0.2"}


@pytest.mark.slow
async def test_killed_mid_expiry_then_two_replicas_expire_each_grant_once(nats_url, database_url, new_schema):
    schema = new_schema()
    run = uuid.uuid4().hex[:10]
    tenants = [f"ten_kx{i}_{run}" for i in range(6)]
    conn = await asyncpg.connect(database_url)
    procs = [start_billing(nats_url, database_url, schema, **SWEEP)]
    try:
        async with nats_client(nats_url) as nc:
            expired: list[dict] = []

            async def collect(msg) -> None:
                body = json.loads(msg.data)
                if body.get("tenant_id") in tenants:
                    expired.append(body["data"])

            await nc.subscribe("portal.credits.expired.v1", cb=collect)
            grants = {}
            for i, tenant in enumerate(tenants):
                profile = AccountProfile(tenant_id=tenant, name="Muster", email="a@b.example")
                await eventually(lambda p=profile: _answers(nc, CreateAccount(profile=p)), timeout=30)
                reply = await request(
                    nc,
                    CreateGrant(
                        tenant_id=tenant,
                        amount_cents=100 + i,
                        reason="Testphase",
                        expires_at=utcnow() + timedelta(days=1),
                        idempotency_key=f"g-{tenant}",
                    ),
                )
                grants[reply.grant.id] = 100 + i

            lock = conn.transaction()
            await lock.start()
            await conn.execute(f'SELECT 1 FROM "{schema}".accounts WHERE tenant_id = $1 FOR UPDATE', tenants[3])
            other = await asyncpg.connect(database_url)
            try:
                await other.execute(f"UPDATE \"{schema}\".grants SET expires_at = now() - interval '1 second'")
            finally:
                await other.close()
            # the run has locked tenants 0-2 and waits for 3: it is in the middle of its transaction
            await eventually(lambda: _blocked_by_me(conn), timeout=30)
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(10)
            await lock.rollback()
            await asyncio.sleep(0.5)
            assert await _closed_without_entry_or_entry_without_close(conn, schema) == 0

            procs += [start_billing(nats_url, database_url, schema, **SWEEP) for _ in range(2)]
            await eventually(lambda: _all_closed(conn, schema), timeout=60)
            await asyncio.sleep(1.0)  # both replicas sweep several more times; none may add a second entry

        assert await _expiries(conn, schema) == {f"expiry:{gid}": (1, -cents) for gid, cents in grants.items()}
        assert Counter(e["grant_id"] for e in expired) == Counter(list(grants))
        assert {e["grant_id"]: e["amount_cents"] for e in expired} == grants
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(60)
        await conn.close()


async def _answers(nc, req) -> bool:
    try:
        await request(nc, req, timeout=2)
    except Exception:  # the service is still starting (no responder yet)
        return False
    return True


async def _blocked_by_me(conn) -> bool:
    return bool(
        await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))")
    )


async def _expiries(conn, schema: str) -> dict[str, tuple[int, int]]:
    rows = await conn.fetch(
        f'SELECT source_key, count(*) AS n, sum(amount_cents) AS cents FROM "{schema}".ledger_transactions '
        "WHERE kind = 'expiry' GROUP BY source_key"
    )
    return {r["source_key"]: (r["n"], r["cents"]) for r in rows}


async def _all_closed(conn, schema: str) -> bool:
    return not await conn.fetchval(f"SELECT count(*) FROM \"{schema}\".grants WHERE status = 'open'")


async def _closed_without_entry_or_entry_without_close(conn, schema: str) -> int:
    return await conn.fetchval(
        f"SELECT count(*) FROM \"{schema}\".grants g WHERE (g.status = 'expired') <> EXISTS ("
        f"SELECT 1 FROM \"{schema}\".ledger_transactions t WHERE t.source_key = 'expiry:' || g.id)"
    )
