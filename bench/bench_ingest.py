"""Usage in over HTTP next to usage in over NATS, end to end into the ledger, in the same run.

    .venv/bin/python -m bench.bench_ingest [--records 60000] [--tenants 100] [--concurrency 8] [--runs 3]

Each run starts billing and the gateway as real processes (`python -m services.<name>`) on a private
NATS and fresh schemas, warms both paths up, then sends the same-sized workload both ways, one
after the other (the order alternates between runs): as a platform on NATS (`usage.recorded.v1`,
asynchronous publishes) and as a platform on HTTP (`POST /ingest/v1/events`, CloudEvents in batches
of 100, `--concurrency` requests in flight). A path's rate is its records divided by the time from
its first send to billing's commit of its last debit; every debit is checked (each tenant's balance,
one transaction per id). Target: the HTTP path reaches at least half the NATS path's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid

import asyncpg
import httpx
import nats

from bench._gateway_stack import ADMIN_TOKEN, billing_schema, stack
from bench.ingest_run import debited, send_on_nats, send_over_http, workload
from bench.ledger_cpu import cpu_s
from devtools.infra import postgres_url

TARGET_SHARE = 0.5


async def one_path(path: str, *, conn, schema: str, js, base: str, key: str, args, seed: int) -> dict:
    work = workload(f"{path}{seed}", records=args.records, tenants=args.tenants, seed=seed)
    started = time.time()
    if path == "nats":
        await send_on_nats(js, work)
        resent = 0
    else:
        resent = await send_over_http(base, key, work, concurrency=args.concurrency)
    sent_s = time.time() - started
    result = await debited(conn, schema, work, started=started)
    return {**result, "sent_rate": args.records / sent_s, "resent": resent}


async def one_run(args, run: int) -> dict:
    name = uuid.uuid4().hex[:8]
    with stack(run=name, INGEST_RATE_LIMIT_PER_MINUTE="1000000000") as (base, gateway, nats_url):
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        key = httpx.post(f"{base}/admin/v1/platform-keys", json={"name": "bench"}, headers=admin).json()["key"]
        nc = await nats.connect(nats_url)
        conn = await asyncpg.connect(postgres_url())
        common = {"conn": conn, "schema": billing_schema(name), "js": nc.jetstream(), "base": base, "key": key}
        try:
            warm = argparse.Namespace(**{**vars(args), "records": 2000})
            for path in ("nats", "http"):
                await one_path(path, args=warm, seed=run * 10, **common)
            results = {}
            for path in ("nats", "http") if run % 2 else ("http", "nats"):
                cpu_before = cpu_s(gateway.pid)
                results[path] = await one_path(path, args=args, seed=run * 10 + len(results) + 1, **common)
                results[path]["gateway_us"] = (cpu_s(gateway.pid) - cpu_before) * 1e6 / args.records
        finally:
            await conn.close()
            await nc.drain()
    http, on_nats = results["http"], results["nats"]
    print(
        f"run {run}: HTTP {http['rate']:,.0f} debits/s (sent at {http['sent_rate']:,.0f}/s, exact: {http['exact']}, "
        f"{http['resent']} batches resent, gateway CPU {http['gateway_us']:.0f} µs/event) · NATS "
        f"{on_nats['rate']:,.0f} debits/s (exact: {on_nats['exact']}) → HTTP at {http['rate'] / on_nats['rate']:.0%}"
        f"; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return results


async def main(args) -> int:
    results = [await one_run(args, i + 1) for i in range(args.runs)]
    http = statistics.median(r["http"]["rate"] for r in results)
    on_nats = statistics.median(r["nats"]["rate"] for r in results)
    exact = all(r[p]["exact"] for r in results for p in ("http", "nats"))
    ok = exact and http >= TARGET_SHARE * on_nats
    print(
        f"\nusage in, end to end (median of {len(results)}): HTTP batches of 100 {http:,.0f} debits/s, "
        f"NATS {on_nats:,.0f} debits/s → HTTP at {http / on_nats:.0%}   target ≥ {TARGET_SHARE:.0%}   "
        f"every debit exact: {exact}   {'OK' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=60_000, help="usage records per path and run")
    p.add_argument("--tenants", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=8, help="HTTP requests in flight")
    p.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 3)))
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
