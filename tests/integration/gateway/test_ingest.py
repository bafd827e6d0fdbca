"""Usage and reservations over HTTP (API.md): content types, reservations answering what NATS answers,
the platform key's own rate limit, and the OpenAPI document."""

from __future__ import annotations

import json

from tests.integration.billing.test_gateway_views import balance_is, credit
from tests.security.conftest import fresh_window
from tests.support.ingest import BATCH, SINGLE, cloud_event, platform_key, post_events
from tests.support.stack import create_tenant, eventually


async def test_one_event_or_a_batch_by_content_type(stack):
    async with stack() as s:
        tenant_id, _ = await create_tenant(s.http)
        key = await platform_key(s.http)
        event = cloud_event(tenant_id, 7)

        async def post(body, content_type: str):
            return await s.http.post(
                "/ingest/v1/events", content=json.dumps(body), headers={**key, "Content-Type": content_type}
            )

        single = await post(event, f"{SINGLE}; charset=utf-8")
        assert (single.status_code, single.json()) == (202, {"accepted": 1})
        assert (await post(event, BATCH)).status_code == 400  # a batch is an array
        assert (await post([event], SINGLE)).status_code == 400  # one event is an object
        not_json = await s.http.post("/ingest/v1/events", content=b"[{", headers={**key, "Content-Type": BATCH})
        assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "validation_error"
        binary_mode = await post(event, "application/json")
        assert binary_mode.status_code == 415
        assert binary_mode.json()["error"]["code"] == "unsupported_media_type"


async def test_reservations_over_http_answer_what_the_nats_subjects_answer(stack):
    async with stack() as s:
        tenant_id, auth = await create_tenant(s.http)
        key = await platform_key(s.http)
        await credit(s.nc, tenant_id, 10000)
        await eventually(lambda: balance_is(s.http, auth, 10500), timeout=15)

        async def both(path: str, subject: str, body: dict, nats_body: dict | None = None) -> dict:
            over_http = await s.http.post(path, json=body, headers=key)
            assert over_http.status_code == 200, over_http.text
            on_nats = await s.nc.request(subject, json.dumps(nats_body or body).encode(), timeout=5)
            assert over_http.json() == json.loads(on_nats.data), subject  # asked twice: idempotent
            return over_http.json()

        hold = {"id": f"{tenant_id}-r1", "tenant_id": tenant_id, "amount_cents": 3000, "ttl_s": 60}
        held = await both("/ingest/v1/reservations", "billing.reserve.v1", hold)
        assert (held["ok"], held["available_cents"]) == (True, 7500)

        rid = held["reservation_id"]
        usage = {
            "id": f"{tenant_id}-call",
            "tenant_id": tenant_id,
            "amount_cents": 1234,
            "quantity": 2,
            "unit": "minute",
            "description": "call",
            "occurred_at": "2026-11-26T10:00:00Z",
        }
        settled = await both(
            f"/ingest/v1/reservations/{rid}/settle",
            "billing.settle.v1",
            {"usage": usage},
            {"reservation_id": rid, "usage": usage},
        )
        assert (settled["ok"], settled["balance_cents"], settled["available_cents"]) == (True, 9266, 9266)
        released = await both(
            f"/ingest/v1/reservations/{rid}/release", "billing.release.v1", {}, {"reservation_id": rid}
        )
        assert released == {"ok": True, "available_cents": 9266, "error": None}

        too_much = await both(
            "/ingest/v1/reservations", "billing.reserve.v1", {**hold, "id": f"{tenant_id}-r2", "amount_cents": 10**6}
        )
        assert (too_much["ok"], too_much["reservation_id"]) == (False, None)
        unknown = await both(
            "/ingest/v1/reservations/res_unknown/settle",
            "billing.settle.v1",
            {"usage": usage},
            {"reservation_id": "res_unknown", "usage": usage},
        )
        assert (unknown["ok"], unknown["error"]["code"]) == (False, "not_found")

        invalid = await s.http.post("/ingest/v1/reservations", json={**hold, "amount_cents": -1}, headers=key)
        assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "validation_error"
        assert [
            t["reference"]
            for t in (await s.http.get("/v1/transactions", headers=auth)).json()["items"]
            if t["kind"] == "usage"
        ] == [usage["id"]]


async def test_reservations_with_control_characters_are_refused_at_the_edge(stack):
    """Found by a schemathesis run with a platform key: a NUL in an id reached billing, which cannot store
    it (PostgreSQL), and the answer was 502."""
    async with stack() as s:
        tenant_id, _ = await create_tenant(s.http)
        key = await platform_key(s.http)
        usage = {"id": "call\x00", "tenant_id": tenant_id, "amount_cents": 1, "occurred_at": "2026-11-26T10:00:00Z"}

        for path, body in (
            ("/ingest/v1/reservations", {"id": "r\x00", "tenant_id": tenant_id, "amount_cents": 1}),
            ("/ingest/v1/reservations/res_1/settle", {"usage": usage}),
            ("/ingest/v1/reservations/res%001/release", {}),
            ("/ingest/v1/reservations/res%0b1/settle", {"usage": {**usage, "id": "call"}}),
        ):
            answer = await s.http.post(path, json=body, headers=key)
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["error"]["code"] == "validation_error"


async def test_ingestion_has_its_own_limit_per_platform_key(stack):
    await fresh_window()
    async with stack(ingest_rate_limit_per_minute=3, rate_limit_per_minute=2) as s:
        tenant_id, auth = await create_tenant(s.http)
        first, second = await platform_key(s.http), await platform_key(s.http)
        event = [cloud_event(tenant_id, 1)]

        assert [(await post_events(s.http, event, first)).status_code for _ in range(3)] == [202] * 3
        over = await post_events(s.http, event, first)

        assert over.status_code == 429 and over.json()["error"]["code"] == "rate_limited"
        assert int(over.headers["Retry-After"]) >= 1
        assert (await post_events(s.http, event, second)).status_code == 202  # a key of its own
        assert (await s.http.get("/v1/balance", headers=auth)).status_code == 200  # tenants count apart


async def test_the_openapi_document_shows_ingestion_with_a_cloudevents_example(stack):
    async with stack() as s:
        paths = (await s.http.get("/openapi.json")).json()["paths"]

        events = paths["/ingest/v1/events"]["post"]
        content = events["requestBody"]["content"]
        assert set(content) == {SINGLE, BATCH}
        example = content[BATCH]["example"][0]
        assert (example["specversion"], example["type"]) == ("1.0", "usage.recorded")
        assert set(example["data"]) == {"amount_cents", "quantity", "unit", "description"}
        assert content[SINGLE]["example"] == example
        assert {"202", "400", "401", "413", "429", "503"} <= set(events["responses"])
        for path in (
            "/ingest/v1/reservations",
            "/ingest/v1/reservations/{reservation_id}/settle",
            "/ingest/v1/reservations/{reservation_id}/release",
            "/admin/v1/platform-keys",
            "/admin/v1/platform-keys/{prefix}",
        ):
            assert path in paths
