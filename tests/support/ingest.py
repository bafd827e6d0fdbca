"""A platform's side of usage over HTTP (API.md, "Usage and reservations over HTTP"): its key, its
CloudEvents, its posts, and what the USAGE stream holds afterwards."""

from __future__ import annotations

import uuid

import httpx

from tests.support.stack import ADMIN

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


async def platform_key(http: httpx.AsyncClient, name: str = "call platform") -> dict:
    """A new platform key through the admin API, as request headers."""
    response = await http.post("/admin/v1/platform-keys", json={"name": name}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


def cloud_event(tenant_id: str, amount_cents: int, *, event_id: str | None = None) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id or f"u-{uuid.uuid4().hex}",
        "source": "/calls/eu-1",
        "type": "usage.recorded",
        "subject": tenant_id,
        "time": "2026-11-26T10:00:00Z",
        "data": {"amount_cents": amount_cents, "quantity": 1.5, "unit": "minute", "description": "call"},
    }


def usage_batch(tenant_id: str, size: int = 100) -> list[dict]:
    """`size` events of 1, 2, … cents (together size × (size + 1) / 2), each with its own id."""
    return [cloud_event(tenant_id, n) for n in range(1, size + 1)]


async def post_events(http: httpx.AsyncClient, events: list[dict], headers: dict) -> httpx.Response:
    return await http.post("/ingest/v1/events", json=events, headers={**headers, "Content-Type": BATCH})


async def usage_on_stream(nc) -> int:
    """How many usage records the USAGE stream holds (JetStream keeps one per id)."""
    return (await nc.jetstream().stream_info("USAGE")).state.messages
