"""RATE_LIMIT_PER_MINUTE per API key (per IP before authentication), shared by every replica."""

import asyncio
import time

import httpx

from tests.support.stack import ADMIN, create_tenant, gateway, running


async def _fresh_window() -> None:
    """Counting windows are calendar minutes: do not straddle one."""
    if time.time() % 60 > 45:
        await asyncio.sleep(61 - time.time() % 60)


async def test_limit_per_key_holds_across_two_replicas(stack, nats_url, database_url):
    async with stack(rate_limit_per_minute=5) as s:
        second = gateway(nats_url, database_url, s.gateway.settings.db_schema, rate_limit_per_minute=5)
        async with (
            running(second, serve_http=True) as gw2,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw2.port}", timeout=10) as http2,
        ):
            _, auth = await create_tenant(s.http)
            _, other = await create_tenant(s.http)
            await _fresh_window()
            statuses = [
                (await client.get("/v1/balance", headers=auth)).status_code
                for client in (s.http, http2, s.http, http2, s.http)
            ]
            assert statuses == [200] * 5
            for client in (http2, s.http):
                limited = await client.get("/v1/balance", headers=auth)
                assert limited.status_code == 429
                assert limited.json()["error"]["code"] == "rate_limited"
                assert 1 <= int(limited.headers["retry-after"]) <= 61
            assert (await http2.get("/v1/balance", headers=other)).status_code == 200  # per key

            for _ in range(3):  # the admin token and health checks are not limited
                assert (await s.http.get("/healthz")).status_code == 200
                assert (await http2.post("/admin/v1/tenants/nope/api-keys", headers=ADMIN)).status_code == 404


async def test_unauthenticated_callers_are_limited_per_ip(stack):
    async with stack(rate_limit_per_minute=5) as s:
        await _fresh_window()
        statuses = [
            (await s.http.get("/v1/balance", headers={"Authorization": "Bearer ppk_wrong_key_0000000000"})).status_code
            for _ in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        page = await s.http.get("/login")
        login = await s.http.post("/login", data={"email": "a@b.example", "password": "x", "csrf_token": "x"})
        assert page.status_code == 200 and login.status_code == 429 and login.headers["retry-after"]
