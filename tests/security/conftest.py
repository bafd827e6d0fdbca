"""Attack tests (issue 14): each one failed against the code before its fix.

`gateway_processes(count, **env)` starts real `python -m services.gateway` processes on the test's
private NATS and one fresh schema: what a memory or concurrency attack hits is a process, not a
coroutine inside the test's own.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import httpx
import pytest

from tests.integration.gateway.conftest import stack, stripe_emulator  # noqa: F401  (in-process stacks)
from tests.integration.scale.procs import ServiceProcess

ADMIN_TOKEN = "security-tests-admin-token"


@pytest.fixture
def gateway_processes(nats_url, database_url, new_schema, tmp_path):
    schema = new_schema("gw")
    started: list[ServiceProcess] = []

    async def start(count: int = 1, **env: str) -> list[ServiceProcess]:
        common = {
            "NATS_URL": nats_url,
            "GATEWAY_DATABASE_URL": database_url,
            "DB_SCHEMA": schema,
            "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
            "LOG_LEVEL": "WARNING",
            **env,
        }
        procs = [
            ServiceProcess("gateway", common, tmp_path, name=f"gateway-{len(started) + i}").start()
            for i in range(count)
        ]
        started.extend(procs)
        await asyncio.gather(*(p.ready() for p in procs))
        return procs

    start.schema = schema
    yield start
    for proc in started:
        proc.stop()


async def add_portal_user(
    database_url: str, schema: str, *, email: str, password: str = "", password_hash: str | None = None
) -> str:
    """A tenant and its portal login written straight into the gateway's schema (no billing needed)."""
    import psycopg

    from contracts.base import utcnow
    from services.gateway import credentials

    tenant_id, user_id, now = f"ten_{uuid.uuid4().hex[:16]}", f"usr_{uuid.uuid4().hex}", utcnow()
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            f'INSERT INTO "{schema}".tenants (id, name, created_at) VALUES (%s, %s, %s)',
            (tenant_id, "Muster GmbH", now),
        )
        await conn.execute(
            f'INSERT INTO "{schema}".portal_users (id, tenant_id, email, password_hash, created_at) '
            "VALUES (%s, %s, %s, %s, %s)",
            (user_id, tenant_id, email, password_hash or credentials.hash_password(password), now),
        )
    return tenant_id


async def fresh_window() -> None:
    """Rate-limit windows are calendar minutes: a test that counts must not straddle one."""
    if time.time() % 60 > 50:
        await asyncio.sleep(61 - time.time() % 60)


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def login_form(web: httpx.AsyncClient) -> dict:
    """A login form token and its cookie, to post any number of logins with (each answer sets a new one)."""
    page = await web.get("/login")
    return {"token": form_token(page.text), "cookie": f"pp_login_csrf={page.cookies['pp_login_csrf']}"}


async def post_login(web: httpx.AsyncClient, form: dict, email: str, password: str) -> httpx.Response:
    return await web.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": form["token"]},
        headers={"Cookie": form["cookie"]},
    )
