"""Usage debits end to end: JetStream → billing (a real `python -m services.billing` process) →
PostgreSQL commit → `balance.updated` published, sustained over a window, next to the ceilings.

    .venv/bin/python -m bench.bench_ledger [--tenants 100] [--warmup 5] [--seconds 20] [--runs 3]
                                           [--replicas 1] [--consumers N]

`--replicas 1,2` measures one billing replica and then two (each `--runs` times, every run with its
own ceilings) and checks the capacity model of docs/operations.md: its prediction for N replicas on
this machine, min(N × one replica's rate, cores ÷ CPU per debit), is printed next to the measured rate.

Each run: a private nats-server and a fresh schema on the local PostgreSQL; the raw JetStream
pull+ack rate and the raw batched-insert rate are measured first (nothing else running), then a
backlog of usage records is published and billing is started; the rate is committed debits per
second between the end of the warm-up and the end of the window. Billing's RSS is read at both ends.

Targets (issue 19): end to end ≥ 50 % of the lower ceiling measured in the same run, and billing's
own CPU ≤ 45 µs per debit (CPU seconds / debits, which the machine's other load hardly changes).
The backlog is sized from the lower ceiling, so a fast ledger does not run out of it mid-window.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

import asyncpg
import nats

from bench.ledger_ceilings import jetstream_consume_rate, postgres_insert_rate
from bench.ledger_run import run_billing_window
from devtools.infra import NatsProcess, service_nats_env
from runtime.messaging import ensure_streams

ROOT = Path(__file__).resolve().parents[1]
TARGET = 2000
TARGET_OF_CEILING = 0.50  # end to end, of the lower ceiling measured in the same run
TARGET_BILLING_US = 45.0  # billing's CPU per debit
DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def billing_env(nats_url: str, schema: str, consumers: int | None = None) -> dict:
    extra = {"USAGE_CONSUMERS": str(consumers)} if consumers else {}
    return {
        **os.environ,
        **service_nats_env(nats_url, "billing"),
        "BILLING_DATABASE_URL": DSN,
        "DB_SCHEMA": schema,
        "PORT": "0",
        "APP_ENV": "test",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


async def one_run(args, run: int, replicas: int = 1) -> dict:
    server = NatsProcess().start()
    schema = f"bench_ledger_{random.randrange(16**8):08x}"
    env = billing_env(server.url, schema, args.consumers)
    try:
        subprocess.run([sys.executable, "-m", "services.billing", "migrate"], env=env, cwd=ROOT, check=True)
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_streams(js)
        js_rate = await jetstream_consume_rate(js)
        pg_rate = await postgres_insert_rate(DSN, schema)
        messages = args.messages or backlog_size(args, min(js_rate, pg_rate))
        result = await run_billing_window(
            nc,
            js,
            env=env,
            dsn=DSN,
            schema=schema,
            tenants=args.tenants,
            messages=messages,
            warmup=args.warmup,
            seconds=args.seconds,
            nats_pid=server.proc.pid,
            replicas=replicas,
        )
        await nc.drain()
        result.update(js_rate=js_rate, pg_rate=pg_rate)
        label = f" ({replicas} billing replicas)" if replicas > 1 else ""
        print(
            f"run {run}{label}: {result['rate']:,.0f} debits/s end to end (window {result['window_s']:.1f} s, "
            f"{result['debits']:,} debits exact: {result['exact']}), JetStream pull+ack {js_rate:,.0f} msg/s, "
            f"PostgreSQL batched insert {pg_rate:,.0f} rows/s ({result['rate'] / min(js_rate, pg_rate):.0%} of the "
            f"lower), billing RSS {result['rss_start_mb']:.0f} → "
            f"{result['rss_end_mb']:.0f} MB, outbox backlog at window end {result['outbox_end']}",
            flush=True,
        )
        print(
            "  CPU per debit: "
            + ", ".join(f"{k} {v:.0f} µs" for k, v in result["cpu_us"].items())
            + f" = {result['cpu_total_us']:.0f} µs → {2e6 / result['cpu_total_us']:,.0f}/s on 2 free cores; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        return result
    finally:
        server.cleanup()
        conn = await asyncpg.connect(DSN)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


def backlog_size(args, ceiling: float) -> int:
    """Enough usage records for warm-up, window and start-up at the larger of 4,000/s and 60 % of the
    lower ceiling: a ledger at its target still has a backlog when the window ends."""
    return int((args.warmup + args.seconds + 5) * max(4000.0, 0.6 * ceiling))


async def main(args) -> int:
    counts = [int(n) for n in str(args.replicas).split(",")]
    by_count: dict[int, list[dict]] = {}
    for count in counts:
        if len(counts) > 1:
            print(f"\n--- {count} billing replica{'s' if count > 1 else ''} ---", flush=True)
        by_count[count] = [await one_run(args, i + 1, count) for i in range(args.runs)]
    code = report(by_count[counts[0]])
    if len(counts) > 1:
        check_model(by_count)
    return code


def check_model(by_count: dict[int, list[dict]]) -> None:
    """The capacity model's one-machine prediction for N replicas against the measured rate: each
    replica is a path of its own (up to its loops' overlap), and together they cannot use more than the
    machine's cores at the CPU per debit measured with one replica."""
    counts = sorted(by_count)
    base = by_count[counts[0]]
    one = statistics.median(r["rate"] for r in base) / counts[0]
    cpu_us = statistics.median(r["cpu_total_us"] for r in base)
    cores = os.cpu_count() or 1
    print(
        f"\ncapacity model (docs/operations.md), from {counts[0]} replica: {one:,.0f} debits/s per replica, "
        f"{cpu_us:.0f} µs of CPU per debit, {cores} cores"
    )
    for count in counts[1:]:
        predicted = min(count * one, cores * 1e6 / cpu_us)
        measured = statistics.median(r["rate"] for r in by_count[count])
        cpu = statistics.median(r["cpu_total_us"] for r in by_count[count])
        print(
            f"  {count} replicas: predicted {predicted:,.0f} debits/s, measured {measured:,.0f} debits/s "
            f"(median of {len(by_count[count])}) = {measured / predicted:.0%} of the prediction; "
            f"CPU per debit {cpu:.0f} µs"
        )


def report(results: list[dict]) -> int:
    med = {
        k: statistics.median(r[k] for r in results)
        for k in ("rate", "js_rate", "pg_rate", "rss_start_mb", "rss_end_mb", "cpu_total_us")
    }
    # the ratio per run (each against the ceilings of its own run), then its median
    of_ceiling = statistics.median(r["rate"] / min(r["js_rate"], r["pg_rate"]) for r in results)
    cpu = {k: statistics.median(r["cpu_us"][k] for r in results) for k in results[0]["cpu_us"]}
    exact = all(r["exact"] for r in results)
    ok = med["rate"] >= TARGET and exact
    print(
        f"\nusage debits end to end (median of {len(results)}): {med['rate']:,.0f}/s   target ≥ {TARGET:,}/s   "
        f"{'OK' if ok else 'MISSED'}"
    )
    lower = "JetStream" if med["js_rate"] <= med["pg_rate"] else "PostgreSQL"
    print(
        f"ceiling: JetStream pull+ack {med['js_rate']:,.0f} msg/s, PostgreSQL batched insert "
        f"{med['pg_rate']:,.0f} rows/s → end to end is {of_ceiling:.0%} of the lower ceiling ({lower})   "
        f"target ≥ {TARGET_OF_CEILING:.0%}, exact   "
        f"{'OK' if of_ceiling >= TARGET_OF_CEILING and exact else 'MISSED'}"
    )
    cpu_ok = cpu["billing"] <= TARGET_BILLING_US
    print(
        f"CPU per debit (medians): {', '.join(f'{k} {v:.0f} µs' for k, v in cpu.items())}   "
        f"billing target ≤ {TARGET_BILLING_US:.0f} µs   {'OK' if cpu_ok else 'MISSED'}"
    )
    print(
        f"CPU per debit (billing + its PostgreSQL backends + nats-server): {med['cpu_total_us']:.0f} µs → "
        f"{2e6 / med['cpu_total_us']:,.0f} debits/s when the path has both cores to itself"
    )
    print(f"billing RSS: {med['rss_start_mb']:.0f} MB after warm-up, {med['rss_end_mb']:.0f} MB at window end")
    return 0 if ok else 1


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tenants", type=int, default=100)
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 3)))
    p.add_argument("--replicas", default=os.environ.get("BENCH_LEDGER_REPLICAS", "1"), help="e.g. 1,2")
    p.add_argument("--consumers", type=int, default=None, help="USAGE_CONSUMERS of each replica (default: its own)")
    p.add_argument(
        "--messages", type=int, default=0, help="backlog size (default: enough for 60 %% of the lower ceiling)"
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
