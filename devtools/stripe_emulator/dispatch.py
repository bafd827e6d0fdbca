"""Ordered, signed webhook delivery replacing localstripe's fire-and-forget sender.

localstripe sleeps one second per event and posts all of them concurrently, so events
raised by one API call arrive in random order. Here one worker delivers them in the
order they were raised, signed like Stripe does (``t=<delivery time>,v1=<hmac>``), to the
endpoints registered through ``POST /_config/webhooks/<id>`` (localstripe's registry).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time

import aiohttp
from localstripe import resources, webhooks

from .faults import current as current_faults

log = logging.getLogger("stripe_emulator.webhooks")

DELAY_S = 0.05  # lets the API response reach the caller first, as with real Stripe
RETRY_DELAYS_S = (0.2, 1.0)

_queue: asyncio.Queue[tuple[float, resources.Event]] | None = None
_worker: asyncio.Task[None] | None = None


def emit(event_type: str, obj: resources.StripeObject) -> resources.Event:
    """Record an event (listable under GET /v1/events) and queue its delivery."""
    event = resources.Event(event_type, obj)
    schedule_webhook(event)
    return event


def schedule_webhook(event: resources.Event) -> None:
    global _queue, _worker
    if _queue is None:
        _queue = asyncio.Queue()
        _worker = asyncio.ensure_future(_deliver_forever(_queue))
    _queue.put_nowait((time.monotonic() + DELAY_S, event))


async def _deliver_forever(queue: asyncio.Queue[tuple[float, resources.Event]]) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        while True:
            due, event = await queue.get()
            faults = current_faults()
            await asyncio.sleep(max(0.0, due + faults.delay_webhooks_s - time.monotonic()))
            if faults.drop(event.id):
                log.info("webhook %s %s dropped (fault injection)", event.type, event.id)
                continue
            payload = json.dumps(event._export(), indent=2, sort_keys=True).encode()
            for hook in list(webhooks._webhooks.values()):
                if hook.events is None or event.type in hook.events:
                    await _deliver(session, hook, event.type, payload)


async def _deliver(session: aiohttp.ClientSession, hook: webhooks.Webhook, kind: str, payload: bytes) -> None:
    for delay in (0.0, *RETRY_DELAYS_S):
        await asyncio.sleep(delay)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, hook.secret),
        }
        try:
            async with session.post(hook.url, data=payload, headers=headers) as response:
                if 200 <= response.status < 300:
                    return
                log.info("webhook %s to %s answered %d", kind, hook.url, response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("webhook %s to %s failed: %s", kind, hook.url, exc)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = b"%d.%s" % (timestamp, payload)
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def install() -> None:
    resources.schedule_webhook = schedule_webhook
    webhooks.schedule_webhook = schedule_webhook
