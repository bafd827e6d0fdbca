"""Platform keys open `/ingest/v1/…` and nothing else, and nothing else opens it (issue 20).

A tenant's API key, the admin token, no key or a made-up one on the ingestion routes answer 401; a
platform key on a customer or admin route answers 401; a revoked platform key is refused by the
next request, on the replica that revoked it and, through the revocation broadcast, on the others.
"""

from __future__ import annotations

from tests.security.test_streams_end_with_their_credentials import second_replica
from tests.support.ingest import cloud_event, platform_key, post_events
from tests.support.stack import ADMIN, create_tenant, eventually

INGEST_ROUTES = (
    ("POST", "/ingest/v1/reservations"),
    ("POST", "/ingest/v1/reservations/res_x/settle"),
    ("POST", "/ingest/v1/reservations/res_x/release"),
)


def prefix_of(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")[:12]


async def test_only_a_platform_key_opens_ingestion(stack):
    async with stack(admin_auth_failures_per_minute=100) as s:
        tenant_id, tenant_key = await create_tenant(s.http)
        platform = await platform_key(s.http)
        event = [cloud_event(tenant_id, 5)]
        made_up = {"Authorization": "Bearer " + prefix_of(platform) + "x" * 40}

        for headers in (tenant_key, ADMIN, {}, made_up, {"Authorization": "Basic Zm9vOmJhcg=="}):
            answer = await post_events(s.http, event, headers)
            assert answer.status_code == 401, (headers, answer.text)
            assert answer.json()["error"]["code"] == "unauthenticated"
            for method, path in INGEST_ROUTES:
                assert (await s.http.request(method, path, headers=headers, json={})).status_code == 401, path

        assert (await post_events(s.http, event, platform)).status_code == 202


async def test_a_platform_key_opens_no_customer_or_admin_route(stack):
    async with stack(admin_auth_failures_per_minute=100) as s:
        tenant_id, _ = await create_tenant(s.http)
        platform = await platform_key(s.http)

        for method, path in (
            ("GET", "/v1/balance"),
            ("GET", "/v1/transactions"),
            ("GET", "/v1/stream"),
            ("GET", "/admin/v1/platform-keys"),
            ("POST", "/admin/v1/platform-keys"),
            ("GET", f"/admin/v1/tenants/{tenant_id}/api-keys"),
        ):
            answer = await s.http.request(method, path, headers=platform, json={"name": "mine now"})
            assert answer.status_code == 401, (path, answer.text)
            assert answer.json()["error"]["code"] == "unauthenticated"


async def test_a_revoked_platform_key_is_refused_at_once_on_every_replica(stack, nats_url, database_url):
    async with stack() as s, second_replica(s, nats_url, database_url) as replica:
        tenant_id, _ = await create_tenant(s.http)
        platform = await platform_key(s.http)
        event = [cloud_event(tenant_id, 5)]
        assert (await post_events(s.http, event, platform)).status_code == 202
        assert (await post_events(replica, event, platform)).status_code == 202  # cached there too

        assert (await s.http.delete(f"/admin/v1/platform-keys/{prefix_of(platform)}", headers=ADMIN)).status_code == 204

        assert (await post_events(s.http, event, platform)).status_code == 401

        async def refused_there() -> bool:  # the broadcast, not the cache's 10 s, ends it there
            return (await post_events(replica, event, platform)).status_code == 401

        await eventually(refused_there, timeout=2)
        listed = (await s.http.get("/admin/v1/platform-keys", headers=ADMIN)).json()["items"]
        assert prefix_of(platform) not in [k["prefix"] for k in listed]
        assert (await s.http.delete(f"/admin/v1/platform-keys/{prefix_of(platform)}", headers=ADMIN)).status_code == 404


async def test_platform_keys_are_listed_without_their_secret(stack):
    async with stack() as s:
        first = await platform_key(s.http, "calls eu")
        second = await platform_key(s.http, "calls us")
        tenant_id, _ = await create_tenant(s.http)
        assert (await post_events(s.http, [cloud_event(tenant_id, 1)], first)).status_code == 202

        items = (await s.http.get("/admin/v1/platform-keys", headers=ADMIN)).json()["items"]

        by_prefix = {item["prefix"]: item for item in items}
        assert [by_prefix[prefix_of(k)]["name"] for k in (first, second)] == ["calls eu", "calls us"]
        assert by_prefix[prefix_of(first)]["last_used_at"] is not None
        assert by_prefix[prefix_of(second)]["last_used_at"] is None
        assert all(set(item) == {"prefix", "name", "created_at", "last_used_at"} for item in items)
        assert [item["prefix"] for item in items][:2] == [prefix_of(second), prefix_of(first)]  # newest first
