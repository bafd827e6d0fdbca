"""Replicas as real processes: two billing instances on one NATS and one PostgreSQL schema."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.scale.procs import ServiceProcess, billing_env


@pytest.fixture
def billing_replicas(nats_url, database_url, new_schema, tmp_path):
    """Call with a count: that many `python -m services.billing` processes sharing one schema."""
    schema = new_schema("bil")
    started: list[ServiceProcess] = []

    async def start(count: int = 2, **env: str) -> list[ServiceProcess]:
        procs = [
            ServiceProcess(
                "billing",
                billing_env(nats_url, database_url, schema, **env),
                tmp_path,
                name=f"billing-{len(started) + i}",
            ).start()
            for i in range(count)
        ]
        started.extend(procs)
        await asyncio.gather(*(p.ready() for p in procs))
        return procs

    start.schema = schema
    start.log_dir = tmp_path
    yield start
    for proc in started:
        proc.stop()
