"""A gateway and billing as real processes (`python -m services.<name>`) on a private NATS and the
PostgreSQL the tests use, for bench_sse, bench_gateway and bench_ingest."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from devtools.infra import NatsProcess, free_port, postgres_url

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "bench-admin-token"


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Stack(tuple):
    """(gateway base URL, gateway process, NATS URL), and `billing` (its process), `ready_s` (seconds
    from starting each process until its /readyz answered 200, by service)."""

    billing: subprocess.Popen
    ready_s: dict[str, float]


@contextlib.contextmanager
def stack(*, run: str | None = None, ready_within_s: float = 60, **gateway_env: str):
    """Yields a `Stack`: (gateway base URL, gateway process, NATS URL) once billing and the gateway are
    ready; billing's schema is `billing_schema(run)`."""
    database = postgres_url()
    if database is None:
        raise SystemExit("no PostgreSQL: set DATABASE_URL")
    nats = NatsProcess().start()
    run = run or uuid.uuid4().hex[:8]
    port = free_port()
    common = {**os.environ, "NATS_URL": nats.url, "DATABASE_URL": database, "APP_ENV": "test", "LOG_LEVEL": "WARNING"}
    procs = []
    billing_port = free_port()
    started: dict[str, float] = {}
    try:
        started["billing"] = time.monotonic()
        billing = subprocess.Popen(
            [sys.executable, "-m", "services.billing"],
            cwd=ROOT,
            preexec_fn=raise_fd_limit,
            env={**common, **nats.service_env("billing"), "DB_SCHEMA": billing_schema(run), "PORT": str(billing_port)},
        )
        procs.append(billing)
        started["gateway"] = time.monotonic()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "services.gateway"],
            cwd=ROOT,
            preexec_fn=raise_fd_limit,
            env={
                **common,
                **nats.service_env("gateway"),
                "DB_SCHEMA": f"bench_gw_{run}",
                "GATEWAY_PORT": str(port),
                "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
                "RATE_LIMIT_PER_MINUTE": "1000000000",
                **gateway_env,
            },
        )
        procs.append(gateway)
        base = f"http://127.0.0.1:{port}"
        ready_at = _wait_ready({"billing": f"http://127.0.0.1:{billing_port}", "gateway": base}, ready_within_s)
        ready = Stack((base, gateway, nats.url))
        ready.billing = billing
        ready.ready_s = {name: ready_at[name] - started[name] for name in ready_at}
        yield ready
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
        nats.cleanup()
        _drop_schemas(database, [billing_schema(run), f"bench_gw_{run}"])


def billing_schema(run: str) -> str:
    return f"bench_bil_{run}"


def _wait_ready(bases: dict[str, str], within_s: float) -> dict[str, float]:
    """When each service's /readyz first answered 200 (time.monotonic)."""
    deadline = time.monotonic() + within_s
    ready_at: dict[str, float] = {}
    while time.monotonic() < deadline:
        for name, base in bases.items():
            if name not in ready_at:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        ready_at[name] = time.monotonic()
        if len(ready_at) == len(bases):
            return ready_at
        time.sleep(0.05)
    raise SystemExit(f"not ready within {within_s:g} s: {', '.join(sorted(set(bases) - set(ready_at)))}")


def create_tenant(base: str) -> tuple[str, str]:
    body = {
        "name": "Bench GmbH",
        "email": "bench@bench.example",
        "country": "DE",
        "address": {"line1": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin"},
    }
    response = httpx.post(
        f"{base}/admin/v1/tenants", json=body, timeout=10, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    response.raise_for_status()
    return response.json()["id"], response.json()["api_key"]


def _drop_schemas(database: str, schemas: list[str]) -> None:
    import psycopg

    with contextlib.suppress(Exception), psycopg.connect(database, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")
