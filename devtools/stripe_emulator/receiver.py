"""A local endpoint that records the emulator's webhook deliveries, for tests to wait on."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from devtools.http_peer import HttpPeer


@dataclass(frozen=True)
class Delivery:
    payload: bytes  # the raw body, as signed
    signature: str  # the Stripe-Signature header
    event: dict[str, Any] = field(compare=False)

    @property
    def type(self) -> str:
        return self.event["type"]

    @property
    def object(self) -> dict[str, Any]:
        return self.event["data"]["object"]


class WebhookReceiver(HttpPeer):
    """`async with WebhookReceiver() as receiver:` then register `receiver.url + "/webhooks/stripe"`."""

    path = "/webhooks/stripe"

    def __init__(self) -> None:
        super().__init__()
        self.deliveries: list[Delivery] = []

    @property
    def endpoint(self) -> str:
        return self.url + self.path

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.path, self._receive)]

    async def _receive(self, request: web.Request) -> web.Response:
        payload = await request.read()
        self.deliveries.append(Delivery(payload, request.headers.get("Stripe-Signature", ""), json.loads(payload)))
        return web.json_response({"received": True})

    def matching(self, where: Callable[[Delivery], bool]) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if where(delivery)]

    async def wait_for(
        self, event_type: str, where: Callable[[Delivery], bool] = lambda d: True, timeout_s: float = 10
    ) -> Delivery:
        """The first delivery of that type matching `where`; TimeoutError after timeout_s."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.matching(lambda d: d.type == event_type and where(d))
            if found:
                return found[0]
            await asyncio.sleep(0.02)
        seen = [d.type for d in self.deliveries]
        raise TimeoutError(f"no {event_type} webhook within {timeout_s}s; received {seen}")
