"""What a 60 s PostgreSQL outage does to the ledger's throughput, and how fast the backlog drains.

    .venv/bin/python -m bench.bench_outage [--rate 1500] [--outage 60] [--before 15] [--after 60]

A billing process (`python -m services.billing`) on a private PostgreSQL cluster and a private
NATS; usage records are published at a steady `--rate` the whole time. After `--before` seconds the
database is stopped for `--outage` seconds, then started again. Printed: the debit rate before the
outage, the backlog when the database came back, how long until billing caught up with the
publisher, the drain rate meanwhile, and that every record was debited exactly once (none
dead-lettered). Not a test: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import nats

from devtools.infra import NatsProcess, free_port, service_nats_env
from devtools.postgres import PrivatePostgres

ROOT = Path(__file__).resolve().parents[1]


async def debited(dsn: str) -> int:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "billing"})
    try:
        return await conn.fetchval("SELECT count(*) FROM ledger_transactions WHERE kind = 'usage'")
    finally:
        await conn.close()


async def publisher(js, *, rate: float, stop: asyncio.Event, published: list[int]) -> None:
    interval, batch = 0.05, max(1, round(rate * 0.05))
    next_at = time.monotonic()
    while not stop.is_set():
        acks = [
            js.publish(
                "usage.recorded.v1",
                json.dumps(
                    {
                        "id": (uid := f"o-{uuid.uuid4().hex}"),
                        "tenant_id": f"ten_outage_{i % 50}",
                        "amount_cents": 3,
                        "occurred_at": "2026-12-04T12:00:00Z",
                    }
                ).encode(),
                headers={"Nats-Msg-Id": uid},
            )
            for i in range(batch)
        ]
        await asyncio.gather(*acks)
        published[0] += batch
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def main(args) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-outage-"))
    root.chmod(0o755)
    pg = PrivatePostgres(root / "pg", root / "password", database="bench")
    pg.ensure()
    server = NatsProcess().start()
    port = free_port()
    env = {
        **os.environ,
        **service_nats_env(server.url, "billing"),
        "DATABASE_URL": pg.url(),
        "PORT": str(port),
        "APP_ENV": "test",
        "LOG_LEVEL": "WARNING",
    }
    billing = subprocess.Popen(
        [sys.executable, "-m", "services.billing"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(root / "billing.log", "wb"),  # noqa: SIM115
    )
    dsn = pg.url()
    try:
        await _wait_ready(port)
        nc = await nats.connect(server.url_as("platform"))
        js = nc.jetstream()
        stop, published = asyncio.Event(), [0]
        feeding = asyncio.create_task(publisher(js, rate=args.rate, stop=stop, published=published))
        await asyncio.sleep(args.before / 3)
        t0, d0 = time.monotonic(), await debited(dsn)
        await asyncio.sleep(args.before * 2 / 3)
        at_stop = await debited(dsn)
        before_rate = (at_stop - d0) / (time.monotonic() - t0)
        pg.stop()
        await asyncio.sleep(args.outage)
        pg.start()
        back = time.monotonic()
        backlog = published[0] - at_stop  # nothing was debited while the database was away
        caught_up, drained_from = None, at_stop
        while time.monotonic() - back < args.after:
            count = await _quietly(debited(dsn))
            if caught_up is None and count is not None and published[0] - count < args.rate * 0.5:
                caught_up = time.monotonic() - back
                drain_rate = (count - drained_from) / caught_up
            await asyncio.sleep(0.25)
        stop.set()
        await feeding
        total = published[0]
        final = await _settle(dsn, total)
        await nc.drain()
        print(f"before the outage: {before_rate:,.0f} debits/s (publisher {args.rate:,.0f}/s)")
        print(f"{args.outage:.0f} s PostgreSQL outage: a backlog of {backlog:,} records when it came back")
        if caught_up is None:
            print(f"not caught up within {args.after:.0f} s")
        else:
            print(
                f"caught up {caught_up:.1f} s after the database returned, draining at {drain_rate:,.0f} debits/s "
                f"({drain_rate / before_rate:.1f}× the steady rate, the publisher still at {args.rate:,.0f}/s)"
            )
        print(f"every record debited once: {final == total} ({final:,} of {total:,})")
    finally:
        billing.terminate()
        billing.wait(20)
        server.cleanup()
        pg.destroy()
        shutil.rmtree(root, ignore_errors=True)


async def _quietly(awaitable):
    try:
        return await awaitable
    except Exception:
        return None


async def _settle(dsn: str, total: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = await _quietly(debited(dsn)) or count
        if count >= total:
            break
        await asyncio.sleep(0.5)
    return count


async def _wait_ready(port: int, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("billing did not become ready")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=1500)
    parser.add_argument("--outage", type=float, default=60)
    parser.add_argument("--before", type=float, default=15)
    parser.add_argument("--after", type=float, default=60)
    asyncio.run(main(parser.parse_args()))
