"""What the gateway does with `POST /webhooks/stripe`: forward the raw body to payments' RPC.

Session-wide (the emulator's webhook registry is global); each test points it at its own NATS.
The emulator delivers one event at a time, so a forward still waiting on a stopping test's payments
is cancelled when the next test resets the gateway: it must not hold up the next test's events.
In `record` mode deliveries are only kept, so a test can replay them in any order or many times.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from contracts.payments.v1 import IngestStripeWebhook
from devtools.stripe_emulator.dispatch import sign
from devtools.stripe_emulator.receiver import Delivery, WebhookReceiver
from runtime.messaging import RequestFailed, ServiceError, request


class StripeGateway(WebhookReceiver):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.nc = None
        self.record_only = False
        self._forwarding: set[asyncio.Task] = set()

    def reset(self, nc=None) -> None:
        self.nc, self.record_only = nc, False
        self.deliveries.clear()
        for task in self._forwarding:
            task.cancel()

    async def _receive(self, request_: web.Request) -> web.Response:
        await super()._receive(request_)
        delivery = self.deliveries[-1]
        if self.nc is None or self.record_only:
            return web.json_response({"received": True})
        task = asyncio.ensure_future(forward(self.nc, delivery.payload, delivery.signature))
        self._forwarding.add(task)
        try:
            await task
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():  # the receiver itself is stopping
                raise
            return web.json_response({"error": {"code": "unavailable"}}, status=503)  # cancelled by reset()
        except ServiceError as exc:
            status = 400 if exc.code == "validation_error" else 503
            return web.json_response({"error": {"code": exc.code, "message": exc.message}}, status=status)
        except RequestFailed:
            return web.json_response({"error": {"code": "unavailable"}}, status=503)
        finally:
            self._forwarding.discard(task)
        return web.json_response({"received": True})

    def signed(self, delivery: Delivery, *, secret: str | None = None, age_s: int = 0) -> tuple[str, str]:
        """The delivery's body with a fresh signature (as Stripe signs each retry anew)."""
        header = sign(delivery.payload, secret or self.secret, timestamp=int(time.time()) - age_s)
        return delivery.payload.decode(), header


async def forward(nc, payload: bytes | str, signature: str):
    body = payload.decode() if isinstance(payload, bytes) else payload
    return await request(nc, IngestStripeWebhook(payload=body, signature=signature), timeout=15)
