"""Fault injection (tests only): Stripe's API failing for a while, webhooks lost or late.

    POST   /_test/faults {"api_status": 500, "for_s": 60, "path_prefix": "/v1/", "method": "POST", "api_delay_s": 0,
                          "answer_delay_s": 0, "drop_webhooks": 0.1, "delay_webhooks_s": 0, "seed": 1}
    GET    /_test/faults   → what is set, and counts of failed requests and dropped webhooks
    DELETE /_test/faults   → everything back to normal

`api_status` answers that HTTP status (with Stripe's error body) to API calls under `path_prefix`
for `for_s` seconds; `api_delay_s` holds every such call that long first (a client timeout when it
exceeds the client's, and Stripe never saw the request); `answer_delay_s` runs the call at once and
holds its answer that long (a client that gave up meanwhile never hears that Stripe did it).
`drop_webhooks` is the share of events never delivered (decided per event, reproducibly from
`seed`); `delay_webhooks_s` delays every delivery. The fault middleware is the outermost one, so a
failed call runs nothing and no idempotency key remembers it, as at Stripe.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Faults:
    api_status: int | None = None
    api_until: float = 0.0
    api_delay_s: float = 0.0
    answer_delay_s: float = 0.0
    path_prefix: str = "/v1/"
    method: str | None = None  # only this HTTP method fails (None: every method)
    drop_webhooks: float = 0.0
    delay_webhooks_s: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    failed_requests: int = 0
    dropped: list[str] = field(default_factory=list)

    def api_failing(self, method: str, path: str) -> bool:
        return (
            (self.api_status is not None or self.api_delay_s > 0 or self.answer_delay_s > 0)
            and time.monotonic() < self.api_until
            and path.startswith(self.path_prefix)
            and self.method in (None, method)
        )

    def drop(self, event_id: str) -> bool:
        if self.drop_webhooks > 0 and self.rng.random() < self.drop_webhooks:
            self.dropped.append(event_id)
            return True
        return False

    def view(self) -> dict:
        return {
            "api_status": self.api_status,
            "api_failing_for_s": max(0.0, self.api_until - time.monotonic()),
            "api_delay_s": self.api_delay_s,
            "answer_delay_s": self.answer_delay_s,
            "path_prefix": self.path_prefix,
            "method": self.method,
            "drop_webhooks": self.drop_webhooks,
            "delay_webhooks_s": self.delay_webhooks_s,
            "failed_requests": self.failed_requests,
            "dropped_webhooks": list(self.dropped),
        }


FAULTS = Faults()


@web.middleware
async def fault_middleware(request: web.Request, handler) -> web.StreamResponse:
    if not FAULTS.api_failing(request.method, request.path):
        return await handler(request)
    FAULTS.failed_requests += 1
    if FAULTS.api_delay_s:
        await asyncio.sleep(FAULTS.api_delay_s)
    if FAULTS.api_status is None:
        response = await handler(request)
        await asyncio.sleep(FAULTS.answer_delay_s)
        return response
    status = FAULTS.api_status
    kind = "rate_limit_error" if status == 429 else "api_error"
    return web.json_response({"error": {"type": kind, "message": f"injected fault ({status})"}}, status=status)


async def set_faults(request: web.Request) -> web.Response:
    body = await request.json() if request.can_read_body else {}
    global FAULTS
    dropped, failed = FAULTS.dropped, FAULTS.failed_requests
    FAULTS = Faults(
        api_status=body.get("api_status"),
        api_until=time.monotonic() + float(body.get("for_s", 0)),
        api_delay_s=float(body.get("api_delay_s", 0)),
        answer_delay_s=float(body.get("answer_delay_s", 0)),
        path_prefix=body.get("path_prefix", "/v1/"),
        method=body.get("method"),
        drop_webhooks=float(body.get("drop_webhooks", 0)),
        delay_webhooks_s=float(body.get("delay_webhooks_s", 0)),
        rng=random.Random(body.get("seed", 1)),
        failed_requests=failed,
        dropped=dropped,
    )
    return web.json_response(FAULTS.view())


async def get_faults(_request: web.Request) -> web.Response:
    return web.json_response(FAULTS.view())


async def clear_faults(_request: web.Request) -> web.Response:
    global FAULTS
    FAULTS = Faults(dropped=FAULTS.dropped, failed_requests=FAULTS.failed_requests)
    return web.json_response(FAULTS.view())


def current() -> Faults:
    return FAULTS


def fault_routes() -> list[web.RouteDef]:
    return [
        web.post("/_test/faults", set_faults),
        web.get("/_test/faults", get_faults),
        web.delete("/_test/faults", clear_faults),
    ]
