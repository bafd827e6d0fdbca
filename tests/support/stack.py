"""Start services in-process for tests, with the same composition roots production uses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import asynccontextmanager

import nats

from devtools.infra import service_nats_settings
from runtime.service import Service


@asynccontextmanager
async def running(service: Service, *, serve_http: bool = False):
    await service.start(serve_http=serve_http)
    try:
        yield service
    finally:
        await service.stop()


def billing(nats_url: str, database_url: str, schema: str, **overrides) -> Service:
    from services.billing.app import build
    from services.billing.config import BillingSettings

    return build(
        BillingSettings(
            **service_nats_settings(nats_url, "billing"),
            database_url=database_url,
            db_schema=schema,
            app_env="test",
            port=0,
            **overrides,
        )
    )


def payments(
    nats_url: str,
    database_url: str,
    schema: str,
    *,
    stripe_api_base: str,
    stripe_webhook_secret: str,
    stripe_api_key: str = "sk_test_emulator",
    **overrides,
) -> Service:
    """Payments against a Stripe API at `stripe_api_base` (the emulator in tests)."""
    from services.payments.app import build
    from services.payments.config import PaymentsSettings

    settings = {"webhook_poll_s": 0.2, "portal_base_url": "http://portal.test", **overrides}
    return build(
        PaymentsSettings(
            **service_nats_settings(nats_url, "payments"),
            database_url=database_url,
            db_schema=schema,
            app_env="test",
            port=0,
            stripe_api_key=stripe_api_key,
            stripe_api_base=stripe_api_base,
            stripe_webhook_secret=stripe_webhook_secret,
            **settings,
        )
    )


@asynccontextmanager
async def nats_client(url: str):
    """A test's own client: on a private server `url` carries the `operator` user (may do anything)."""
    nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        yield nc
    finally:
        await nc.drain()


async def publish_usage(
    js,
    *,
    usage_id: str,
    tenant_id: str,
    amount_cents: int,
    occurred_at: str | None = None,
    quantity: float = 1,
    description: str = "call",
) -> None:
    body = {
        "id": usage_id,
        "tenant_id": tenant_id,
        "amount_cents": amount_cents,
        "quantity": quantity,
        "unit": "minute",
        "description": description,
        "occurred_at": occurred_at or "2026-11-26T10:00:00Z",
    }
    await js.publish("usage.recorded.v1", json.dumps(body).encode(), headers={"Nats-Msg-Id": usage_id})


async def eventually(check: Callable, *, timeout: float = 10.0, interval: float = 0.05):
    """Poll an async or sync check until it returns a truthy value; answer that value."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
        await asyncio.sleep(interval)


def gateway(nats_url: str, database_url: str, schema: str, **overrides) -> Service:
    from services.gateway.app import build
    from services.gateway.config import GatewaySettings

    settings = {"gateway_admin_token": "test-admin-token", "rate_limit_per_minute": 100_000, **overrides}
    return build(
        GatewaySettings(
            **service_nats_settings(nats_url, "gateway"),
            database_url=database_url,
            db_schema=schema,
            app_env="test",
            port=0,
            **settings,
        )
    )


ADMIN = {"Authorization": "Bearer test-admin-token"}


def tenant_body(**overrides) -> dict:
    return {
        "name": "Muster GmbH",
        "email": "billing@muster.example",
        "country": "DE",
        "address": {"line1": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin"},
        **overrides,
    }


async def create_tenant(http, **overrides) -> tuple[str, dict]:
    """Create a tenant through the admin API; answer its id and the headers of its API key."""
    response = await http.post("/admin/v1/tenants", json=tenant_body(**overrides), headers=ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], {"Authorization": f"Bearer {body['api_key']}"}


class SseReader:
    """Reads an SSE response line by line into (id, event, data) messages and comments."""

    def __init__(self, response) -> None:
        self.lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next(self, *, timeout: float = 10.0) -> dict:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> dict:
        message: dict = {}
        async for line in self.lines:
            if line == "":
                if "event" in message or "data" in message:
                    return message
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            message[name] = message.get(name, "") + ("\n" if name in message else "") + value
        raise EOFError("stream ended")

    async def until(self, event: str, *, timeout: float = 10.0) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            message = await self.next(timeout=max(remaining, 0.01))
            if message.get("event") == event:
                return message
