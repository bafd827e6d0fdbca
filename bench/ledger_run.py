"""One measured window of the ledger benchmark: backlog → billing process → committed, published."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from bench.ledger_ceilings import publish_many, usage_payload
from bench.ledger_cpu import CpuMeter

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def committed(conn, schema: str) -> int:
    return await conn.fetchval(f'SELECT coalesce(max(seq), 0) FROM "{schema}".ledger_transactions')


async def wait_until(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


async def run_billing_window(
    nc,
    js,
    *,
    env: dict,
    dsn: str,
    schema: str,
    tenants: int,
    messages: int,
    warmup: float,
    seconds: float,
    nats_pid: int,
    replicas: int = 1,
) -> dict:
    rng = random.Random(7)
    names = [f"bench-tenant-{i:04d}" for i in range(tenants)]
    expected = dict.fromkeys(names, 0)
    payloads = []
    for i in range(messages):
        tenant, cents = rng.choice(names), rng.randint(1, 50)
        expected[tenant] -= cents
        payloads.append((f"bu-{i}", usage_payload(f"bu-{i}", tenant, cents)))
    publish_rate = await publish_many(js, "usage.recorded.v1", payloads)
    print(f"  backlog: {messages:,} usage records published at {publish_rate:,.0f}/s", flush=True)

    last_update: dict[str, int] = {}

    async def on_balance(msg) -> None:
        body = json.loads(msg.data)
        last_update[body["tenant_id"]] = body["data"]["balance_cents"]

    sub = await nc.subscribe("portal.balance.updated.v1", cb=on_balance)
    conn = await asyncpg.connect(dsn)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "services.billing", "run"],
            env=env,
            cwd=ROOT,
            stdout=(log := open(ROOT / "var" / f"bench_billing{'' if i == 0 else f'-{i}'}.log", "w")),  # noqa: SIM115
            stderr=log,
        )
        for i in range(replicas)
    ]
    try:
        if not await wait_until(lambda: _positive(committed(conn, schema)), 60):
            raise RuntimeError("billing committed nothing within 60 s (see var/bench_billing.log)")
        await asyncio.sleep(warmup)
        meter = CpuMeter(conn, billing_pids=[p.pid for p in procs], nats_pid=nats_pid)
        await meter.start()
        t0, c0, rss0 = time.perf_counter(), await committed(conn, schema), rss_mb(procs[0].pid)
        c1 = c0
        while time.perf_counter() - t0 < seconds and c1 < 0.97 * messages:
            await asyncio.sleep(0.5)
            c1 = await committed(conn, schema)
        t1, rss1 = time.perf_counter(), rss_mb(procs[0].pid)
        cpu = await meter.stop()
        outbox_end = await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox')
        if t1 - t0 < seconds:
            print(f"  WARNING: the backlog ran out after {t1 - t0:.1f} s of the window; raise --messages", flush=True)

        async def drained() -> bool:
            done = await conn.fetchval(f'SELECT count(*) FROM "{schema}".ledger_transactions') == messages
            empty = await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox') == 0
            return done and empty and last_update == expected

        settled = await wait_until(drained, 60 + 2 * (messages - c1) / max((c1 - c0) / (t1 - t0), 100))
        balances = dict(await conn.fetch(f'SELECT tenant_id, balance_cents FROM "{schema}".accounts'))
        entries_sum = await conn.fetchval(f'SELECT coalesce(sum(amount_cents), 0) FROM "{schema}".ledger_entries')
        exact = settled and balances == expected and entries_sum == 0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(120)
        await sub.unsubscribe()
        await conn.close()
    per_debit = {k: v * 1e6 / max(c1 - c0, 1) for k, v in cpu.items()}
    return {
        "rate": (c1 - c0) / (t1 - t0),
        "cpu_us": per_debit,
        "cpu_total_us": sum(per_debit.values()),
        "window_s": t1 - t0,
        "debits": messages,
        "exact": exact,
        "rss_start_mb": rss0,
        "rss_end_mb": rss1,
        "outbox_end": outbox_end,
        "publish_rate": publish_rate,
    }


async def _positive(awaitable) -> bool:
    return (await awaitable) > 0
