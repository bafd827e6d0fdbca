"""Dashboard and balance latency from the first request after start-up, and the dashboard at 500/s.

    python -m bench.bench_gateway [--rate 200] [--seconds 20] [--runs 3] [--dashboard-rate 500]

Open loop: requests start on a fixed schedule whatever the answers do (no coordinated omission),
from a separate process; latency is measured from each request's scheduled start. The gateway and
billing run as `python -m services.<name>`; the first run starts as soon as both answer /readyz
(and the bench's tenant exists), so it measures what the first seconds after start-up cost: there
is no warm-up that is not counted. Each run is 50 % `GET /v1/dashboard`, 50 % `GET /v1/balance` at
`--rate`; then `--runs` runs of `GET /v1/dashboard` alone at `--dashboard-rate`.

The load generator is a lean HTTP/1.1 client on raw asyncio sockets with keep-alive connections
(it shares the machine's two cores with the services, so its own cost per request matters): its
CPU is reported per run, as a share of one core, next to the gateway's and billing's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._gateway_stack import cpu_seconds, create_tenant, percentile, stack

PATHS = ("/v1/dashboard", "/v1/balance")
TARGET_P99_MS = 20  # every run, the first after start-up included (issue 19)
TARGET_DASHBOARD_RATE = 500


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: one request at a time, answers read by Content-Length."""

    def __init__(self) -> None:
        self.transport = None
        self.buffer = bytearray()
        self.answer: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.answer is None:
            return
        length = next(
            (
                int(value)
                for name, _, value in (line.partition(b":") for line in bytes(self.buffer[:end]).split(b"\r\n")[1:])
                if name.strip().lower() == b"content-length"
            ),
            None,
        )
        if length is None:
            self._fail(ConnectionError("an answer without Content-Length"))
            return
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        del self.buffer[: end + 4 + length]
        answer, self.answer = self.answer, None
        if not answer.done():
            answer.set_result(status)

    def connection_lost(self, exc) -> None:
        self._fail(ConnectionError("closed"))

    def _fail(self, exc: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)
        self.answer = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None


class Client:
    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.requests = {
            path: f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
            for path in PATHS
        }

    async def get(self, path: str) -> int:
        loop = asyncio.get_running_loop()
        conn = None
        while self.idle and conn is None:
            conn = self.idle.pop()
            if conn.transport is None:
                conn = None
        if conn is None:
            _, conn = await loop.create_connection(Connection, self.host, self.port)
        conn.answer = loop.create_future()
        conn.transport.write(self.requests[path])
        try:
            status = await conn.answer
        except BaseException:  # timed out: its late answer must not be taken for the next request's
            conn._fail(ConnectionError("abandoned"))
            raise
        self.idle.append(conn)
        return status

    def close(self) -> None:
        for conn in self.idle:
            if conn.transport is not None:
                conn.transport.close()


async def load(url: str, key: str, mix: list[str], rate: float, seconds: float) -> dict:
    """`rate` requests/s for `seconds`, the paths of `mix` in turn; latency from each scheduled start."""
    host, port = url.removeprefix("http://").split(":")
    client = Client(host, int(port), key)
    results: dict[str, list[tuple[float, float]]] = {path: [] for path in set(mix)}
    errors = 0

    async def one(path: str, scheduled: float, offset: float) -> None:
        nonlocal errors
        try:
            errors += await asyncio.wait_for(client.get(path), 10) != 200
        except (OSError, TimeoutError, ConnectionError):
            errors += 1
        results[path].append((offset, (time.perf_counter() - scheduled) * 1000))

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    tasks = []
    for n in range(int(rate * seconds)):
        scheduled = start + n / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        tasks.append(asyncio.create_task(one(mix[n % len(mix)], scheduled, n / rate)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_SELF)
    client.close()
    return {
        "latencies": results,
        "errors": errors,
        "cpu": (used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime) / elapsed,
    }


def run_client(base: str, key: str, mix: list[str], rate: float, seconds: float, pids: dict[str, int]) -> dict:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        command = ["client", base, key, ",".join(mix), str(rate), str(seconds), out.name]
        subprocess.run([sys.executable, "-m", "bench.bench_gateway", *command], check=True)
        elapsed = time.monotonic() - started
        result = json.load(out)
    result["service_cpu"] = {name: (cpu_seconds(pid) - before[name]) / elapsed for name, pid in pids.items()}
    return result


def describe(result: dict) -> str:
    cpu = result["service_cpu"]
    return (
        f"errors {result['errors']}; CPU (share of one core): load generator {result['cpu']:.0%}, "
        f"gateway {cpu['gateway']:.0%}, billing {cpu['billing']:.0%}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dashboard-rate", type=float, default=TARGET_DASHBOARD_RATE, help="0: skip")
    args = parser.parse_args()
    p99s: dict[str, list[float]] = {path: [] for path in PATHS}
    dashboard_p99s: list[float] = []
    with stack() as ready:
        base, gateway, _nats = ready
        up = ready.ready_s
        print(f"start-up to /readyz 200: gateway {up['gateway']:.2f} s, billing {up['billing']:.2f} s", flush=True)
        _, key = create_tenant(base)
        pids = {"gateway": gateway.pid, "billing": ready.billing.pid}
        for run in range(args.runs):
            result = run_client(base, key, list(PATHS), args.rate, args.seconds, pids)
            for path in PATHS:
                timed = result["latencies"][path]
                values = [ms for _, ms in timed]
                p99s[path].append(percentile(values, 0.99))
                first_s = [ms for at, ms in timed if at < 5]
                print(
                    f"run {run + 1} {path}: {len(values)} requests at {args.rate / 2:.0f}/s "
                    f"(total {args.rate:.0f}/s), p50 {percentile(values, 0.5):.1f} ms, p99 {p99s[path][-1]:.1f} ms"
                    + (f" (first 5 s: p99 {percentile(first_s, 0.99):.1f} ms)" if run == 0 else ""),
                    flush=True,
                )
            print(f"run {run + 1}: {describe(result)}", flush=True)
        for run in range(args.runs if args.dashboard_rate else 0):
            result = run_client(base, key, ["/v1/dashboard"], args.dashboard_rate, args.seconds, pids)
            values = [ms for _, ms in result["latencies"]["/v1/dashboard"]]
            dashboard_p99s.append(percentile(values, 0.99))
            print(
                f"dashboard run {run + 1}: {len(values)} requests at {args.dashboard_rate:.0f}/s, "
                f"p50 {percentile(values, 0.5):.1f} ms, p99 {dashboard_p99s[-1]:.1f} ms; {describe(result)}",
                flush=True,
            )
    for path, values in p99s.items():
        first, later = values[0], values[1:]
        print(
            f"target: {path} p99 at {args.rate:.0f} requests/s, first run after start-up {first:.1f} ms, later runs "
            f"{', '.join(f'{v:.1f}' for v in later)} ms (target < {TARGET_P99_MS} ms in every run) "
            f"{'OK' if max(values) < TARGET_P99_MS else 'MISSED'}"
        )
    if dashboard_p99s:
        p99 = statistics.median(dashboard_p99s)
        print(
            f"target: /v1/dashboard p99 at {args.dashboard_rate:.0f} requests/s (median of {len(dashboard_p99s)} "
            f"runs) {p99:.1f} ms (target < {TARGET_P99_MS} ms) {'OK' if p99 < TARGET_P99_MS else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        import uvloop

        url, key, mix, rate, seconds = sys.argv[2], sys.argv[3], sys.argv[4].split(","), *map(float, sys.argv[5:7])
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        Path(sys.argv[7]).write_text(json.dumps(asyncio.run(load(url, key, mix, rate, seconds))))
    else:
        sys.exit(main())
