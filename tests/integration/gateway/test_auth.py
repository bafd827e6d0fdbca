"""API keys and the admin token: who gets in, and who is refused at once."""

from datetime import UTC, datetime

from services.gateway import credentials
from tests.support.stack import ADMIN, create_tenant


async def test_customer_routes_need_a_live_key(stack):
    async with stack() as s:
        _, auth = await create_tenant(s.http)
        assert (await s.http.get("/v1/balance", headers=auth)).status_code == 200

        no_key = await s.http.get("/v1/balance")
        assert no_key.status_code == 401
        assert no_key.json()["error"]["code"] == "unauthenticated"
        assert (
            await s.http.get("/v1/balance", headers={"Authorization": "Bearer ppk_made_up_key_123456"})
        ).status_code == 401
        assert (await s.http.get("/v1/balance", headers={"Authorization": "Basic Zm9vOmJhcg=="})).status_code == 401

        prefix = auth["Authorization"].removeprefix("Bearer ")[:12]
        assert (await s.http.delete(f"/admin/v1/api-keys/{prefix}", headers=ADMIN)).status_code == 204
        revoked = await s.http.get("/v1/balance", headers=auth)  # the very next request
        assert revoked.status_code == 401
        assert (await s.http.get("/v1/stream", headers=auth)).status_code == 401


async def test_admin_routes_need_the_admin_token(stack):
    async with stack(admin_auth_failures_per_minute=100) as s:  # 16 refusals here; the limit has its own test
        tenant_id, auth = await create_tenant(s.http)
        for headers in (auth, {}, {"Authorization": "Bearer wrong-admin-token"}, {"Authorization": "test-admin-token"}):
            for method, path in (
                ("POST", "/admin/v1/tenants"),
                ("GET", f"/admin/v1/tenants/{tenant_id}/api-keys"),
                ("POST", f"/admin/v1/tenants/{tenant_id}/api-keys"),
                ("POST", f"/admin/v1/tenants/{tenant_id}/adjustments"),
            ):
                response = await s.http.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (headers, path)
                assert response.json()["error"]["code"] == "unauthenticated"
        keys = (await s.http.get(f"/admin/v1/tenants/{tenant_id}/api-keys", headers=ADMIN)).json()["items"]
        assert len(keys) == 1  # nothing was created by the refused calls


async def test_key_list_shows_every_live_key_and_its_last_use(stack):
    async with stack() as s:
        tenant_id, auth = await create_tenant(s.http)
        second = await s.http.post(f"/admin/v1/tenants/{tenant_id}/api-keys", headers=ADMIN)
        assert second.status_code == 201
        assert second.json()["api_key"].startswith(second.json()["prefix"])

        before = datetime.now(UTC)
        assert (await s.http.get("/v1/account", headers=auth)).status_code == 200
        items = (await s.http.get(f"/admin/v1/tenants/{tenant_id}/api-keys", headers=ADMIN)).json()["items"]
        by_prefix = {i["prefix"]: i for i in items}
        first_prefix = auth["Authorization"].removeprefix("Bearer ")[:12]
        assert set(by_prefix) == {first_prefix, second.json()["prefix"]}
        used = datetime.fromisoformat(by_prefix[first_prefix]["last_used_at"])
        assert used >= before.replace(microsecond=0)
        assert by_prefix[second.json()["prefix"]]["last_used_at"] is None
        assert all("key" not in k and "hash" not in str(k) for k in items)

        await s.http.delete(f"/admin/v1/api-keys/{first_prefix}", headers=ADMIN)
        items = (await s.http.get(f"/admin/v1/tenants/{tenant_id}/api-keys", headers=ADMIN)).json()["items"]
        assert [i["prefix"] for i in items] == [second.json()["prefix"]]
        assert (await s.http.delete(f"/admin/v1/api-keys/{first_prefix}", headers=ADMIN)).status_code == 404


async def test_a_backing_service_that_does_not_answer_gives_503_in_time(stack):
    async with stack(with_billing=False, request_timeout_s=1.0) as s:
        from tests.support.stack import tenant_body

        started = datetime.now(UTC)
        response = await s.http.post("/admin/v1/tenants", json=tenant_body(), headers=ADMIN)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"
        assert response.headers["retry-after"]
        assert (datetime.now(UTC) - started).total_seconds() < 3

        async with s.gateway.db.transaction() as session:  # a key for a tenant whose billing is silent
            key, _ = await credentials.issue_api_key(session, tenant_id="ten_silent")
        silent = await s.nc.subscribe("rpc.billing.balance.v1", cb=_ignore)  # takes the request, never answers
        started = datetime.now(UTC)
        response = await s.http.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})
        elapsed = (datetime.now(UTC) - started).total_seconds()
        assert response.status_code == 503, response.text
        assert 0.9 <= elapsed < 3
        await silent.unsubscribe()


async def _ignore(_msg) -> None:
    return None
