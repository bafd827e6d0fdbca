"""Dashboard and balance latency: GET /v1/dashboard and /v1/balance at a fixed 200 requests/s.

    python -m bench.bench_gateway [--rate 200] [--seconds 20] [--runs 3]

Open loop: requests start on a fixed schedule whatever the answers do (no coordinated omission),
from a separate process; the gateway and billing run as `python -m services.<name>`. Latency is
measured from each request's scheduled start. The target is the steady state: the first
`--warm-up` seconds at the full rate after the stack started (connection pools filling, first
statements prepared, the client opening its connections) are reported separately, not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

from bench._gateway_stack import create_tenant, percentile, stack

TARGET_P99_MS = 50


async def load(url: str, key: str, rate: float, seconds: float, warm_up_s: float) -> dict:
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    results: dict[str, list[float]] = {"/v1/dashboard": [], "/v1/balance": []}
    errors = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10, limits=limits) as http:
        for path in results:  # warm-up
            await http.get(path)

        async def one(path: str, scheduled: float) -> None:
            nonlocal errors
            try:
                response = await http.get(path)
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1
            results[path].append((time.perf_counter() - scheduled) * 1000)

        async def schedule(seconds: float) -> None:
            start = time.perf_counter()
            tasks = []
            for n in range(int(rate * seconds)):
                scheduled = start + n / rate
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                tasks.append(asyncio.create_task(one("/v1/dashboard" if n % 2 == 0 else "/v1/balance", scheduled)))
            await asyncio.gather(*tasks)

        await schedule(warm_up_s)
        warm_up = [v for values in results.values() for v in values]
        for values in results.values():
            values.clear()
        await schedule(seconds)
    return {"latencies": results, "errors": errors, "warm_up": warm_up}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm-up", type=float, default=5, help="seconds at the full rate before measuring")
    args = parser.parse_args()
    p99s: dict[str, list[float]] = {"/v1/dashboard": [], "/v1/balance": []}
    with stack() as (base, _gateway, _nats):
        _, key = create_tenant(base)
        for run in range(args.runs):
            warm_up = args.warm_up if run == 0 else 0
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.bench_gateway",
                    "client",
                    base,
                    key,
                    str(args.rate),
                    str(args.seconds),
                    str(warm_up),
                ],
                stdout=subprocess.PIPE,
                text=True,
                check=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            if warm_up:
                cold = result["warm_up"]
                print(
                    f"warm-up: first {warm_up:g} s at {args.rate:.0f}/s after start (not counted): "
                    f"p50 {percentile(cold, 0.5):.1f} ms, p99 {percentile(cold, 0.99):.1f} ms",
                    flush=True,
                )
            for path, values in result["latencies"].items():
                p99s[path].append(percentile(values, 0.99))
                print(
                    f"run {run + 1} {path}: {len(values)} requests at {args.rate / 2:.0f}/s "
                    f"(total {args.rate:.0f}/s), p50 {percentile(values, 0.5):.1f} ms, "
                    f"p99 {p99s[path][-1]:.1f} ms, errors {result['errors']}",
                    flush=True,
                )
    for path, values in p99s.items():
        p99 = statistics.median(values)
        print(
            f"{path} p99 (median of {args.runs} runs) {p99:.1f} ms (target < {TARGET_P99_MS} ms at "
            f"{args.rate:.0f} requests/s) {'OK' if p99 < TARGET_P99_MS else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        url, key, rate, seconds, warm_up_s = sys.argv[2], sys.argv[3], *map(float, sys.argv[4:7])
        print(json.dumps(asyncio.run(load(url, key, rate, seconds, warm_up_s))))
    else:
        sys.exit(main())
