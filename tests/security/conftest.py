"""Attack tests (issue 14): each one failed against the code before its fix.

`gateway_processes(count, **env)` starts real `python -m services.gateway` processes on the test's
private NATS and one fresh schema: what a memory or concurrency attack hits is a process, not a
coroutine inside the test's own.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.gateway.conftest import stack, stripe_emulator  # noqa: F401  (in-process stacks)
from tests.integration.scale.procs import ServiceProcess

ADMIN_TOKEN = "security-tests-admin-token"


@pytest.fixture
def gateway_processes(nats_url, database_url, new_schema, tmp_path):
    schema = new_schema("gw")
    started: list[ServiceProcess] = []

    async def start(count: int = 1, **env: str) -> list[ServiceProcess]:
        common = {"NATS_URL": nats_url, "GATEWAY_DATABASE_URL": database_url, "DB_SCHEMA": schema,
                  "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN, "LOG_LEVEL": "WARNING", **env}
        procs = [ServiceProcess("gateway", common, tmp_path, name=f"gateway-{len(started) + i}").start()
                 for i in range(count)]
        started.extend(procs)
        await asyncio.gather(*(p.ready() for p in procs))
        return procs

    yield start
    for proc in started:
        proc.stop()
