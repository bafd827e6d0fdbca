"""SSE fan-out: 10,000 streams on ONE gateway process, a balance change to every client.

    python -m bench.bench_sse [--connections 10000] [--rounds 10] [--runs 3]

The gateway and billing run as `python -m services.<name>`; the clients run in a separate process
(raw asyncio sockets, a minimal HTTP/1.1 SSE reader). Each round publishes one usage record for the
tenant; the client process notes when billing's `portal.balance.updated` reaches NATS (a plain
subscriber: "the balance changed") and when each stream delivers it. Reported: fan-out latency
(balance change on the bus → event at the client, all clients) p50/p99 per run and their medians,
end-to-end latency from the usage publish, and gateway memory per connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import time

from bench._gateway_stack import percentile, raise_fd_limit, rss_bytes, stack

TARGET_P99_MS = 50
BALANCE = re.compile(rb"event: balance\.updated\ndata: \{\"balance_cents\":(-?\d+)")


class Stream(asyncio.Protocol):
    def __init__(self, request: bytes, received: dict, opened: asyncio.Future) -> None:
        self.request, self.received, self.opened = request, received, opened

    def connection_made(self, transport) -> None:
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        for match in BALANCE.finditer(data):
            self.received.setdefault(int(match.group(1)), []).append(now)
        if not self.opened.done() and b"balance.updated" in data:
            self.opened.set_result(True)

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the first message"))


async def client(args) -> None:
    import nats
    import uvloop

    raise_fd_limit()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    loop = asyncio.get_running_loop()
    host, port = args.url.removeprefix("http://").split(":")
    request = (f"GET /v1/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {args.key}\r\n"
               "Accept: text/event-stream\r\n\r\n").encode()
    received: dict[int, list[float]] = {}
    transports = []
    for start in range(0, args.connections, 200):
        batch = []
        for _ in range(min(200, args.connections - start)):
            opened = loop.create_future()
            transports.append((await loop.create_connection(lambda o=opened: Stream(request, received, o),
                                                            host, int(port)))[0])
            batch.append(opened)
        await asyncio.gather(*batch)
    print("CONNECTED", len(transports), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)

    nc = await nats.connect(args.nats)
    on_bus: dict[int, float] = {}

    async def noted(msg) -> None:
        envelope = json.loads(msg.data)
        if envelope["tenant_id"] == args.tenant:
            on_bus[envelope["data"]["balance_cents"]] = time.monotonic()

    await nc.subscribe("portal.balance.updated.v1", cb=noted)
    js = nc.jetstream()
    published: dict[int, float] = {}
    received.clear()
    for n in range(1, args.rounds * args.runs + 1):
        published[-n] = time.monotonic()
        body = {"id": f"bench-{args.tenant}-{n}", "tenant_id": args.tenant, "amount_cents": 1, "quantity": 1,
                "unit": "minute", "description": "bench", "occurred_at": "2026-11-26T10:00:00Z"}
        await js.publish("usage.recorded.v1", json.dumps(body).encode(), headers={"Nats-Msg-Id": body["id"]})
        await asyncio.sleep(args.interval)
    await asyncio.sleep(1)
    rounds = [{"bus": on_bus.get(-n), "published": published[-n], "received": received.get(-n, [])}
              for n in range(1, args.rounds * args.runs + 1)]
    print("RESULT", json.dumps(rounds), flush=True)
    for transport in transports:
        transport.close()
    await nc.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10, help="balance changes per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    with stack() as (base, gateway, nats_url):
        from bench._gateway_stack import create_tenant

        tenant, key = create_tenant(base)
        idle = rss_bytes(gateway.pid)
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_sse", "client", "--url", base.removeprefix(""), "--key", key,
             "--tenant", tenant, "--nats", nats_url, "--connections", str(args.connections), "--rounds",
             str(args.rounds), "--runs", str(args.runs), "--interval", str(args.interval)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        if not line.startswith("CONNECTED"):
            raise SystemExit(f"client failed: {line!r}")
        connected = int(line.split()[1])
        time.sleep(2)
        per_connection = (rss_bytes(gateway.pid) - idle) / connected
        print(f"connections: {connected} open in {time.monotonic() - started:.1f} s; "
              f"gateway memory per connection: {per_connection / 1024:.1f} KiB "
              f"(RSS {idle / 2**20:.0f} → {rss_bytes(gateway.pid) / 2**20:.0f} MiB)", flush=True)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        result = next(line for line in proc.stdout if line.startswith("RESULT"))
        proc.wait(60)
    return report(json.loads(result.split(" ", 1)[1]), args, connected)


def report(rounds: list[dict], args, connected: int) -> int:
    p50s, p99s = [], []
    missing = sum(connected - len(r["received"]) for r in rounds)
    for run in range(args.runs):
        chunk = rounds[run * args.rounds:(run + 1) * args.rounds]
        fanout = [(t - r["bus"]) * 1000 for r in chunk if r["bus"] for t in r["received"]]
        e2e = [(t - r["published"]) * 1000 for r in chunk for t in r["received"]]
        p50s.append(percentile(fanout, 0.5))
        p99s.append(percentile(fanout, 0.99))
        print(f"run {run + 1}: balance change → SSE at all {connected} clients: p50 {p50s[-1]:.1f} ms, "
              f"p99 {p99s[-1]:.1f} ms | usage publish → SSE: p50 {percentile(e2e, 0.5):.1f} ms, "
              f"p99 {percentile(e2e, 0.99):.1f} ms", flush=True)
    p99 = statistics.median(p99s)
    print(f"SSE latency (median of {args.runs} runs): p50 {statistics.median(p50s):.1f} ms, p99 {p99:.1f} ms "
          f"(target p99 < {TARGET_P99_MS} ms) {'OK' if p99 < TARGET_P99_MS else 'MISSED'}; "
          f"events not delivered: {missing}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        p = argparse.ArgumentParser()
        for name in ("url", "key", "tenant", "nats"):
            p.add_argument(f"--{name}")
        p.add_argument("--connections", type=int)
        p.add_argument("--rounds", type=int)
        p.add_argument("--runs", type=int)
        p.add_argument("--interval", type=float)
        asyncio.run(client(p.parse_args(sys.argv[2:])))
    else:
        sys.exit(main())
