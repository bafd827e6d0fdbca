"""A customer's webhook endpoint: verifies every request with the `standardwebhooks` library.

async with WebhookReceiver(secret) as receiver:
    receiver.respond(503)                              # or 410, 429 with retry_after="120",
    receiver.respond(200, delay_s=2)                   # a slow endpoint,
    receiver.respond(302, location="http://…")         # a redirect
    receiver.received[0].payload                       # verified {type, timestamp, data}
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from devtools.http_peer import HttpPeer


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.perf_counter)  # when it arrived (perf_counter)

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class WebhookReceiver(HttpPeer):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.verifier = Webhook(secret)
        self.received: list[ReceivedWebhook] = []  # every verified attempt, whatever the answer
        self.rejected: list[str] = []
        self.respond(204)

    def respond(
        self, status: int, *, delay_s: float = 0.0, retry_after: str | None = None,
        location: str | None = None, body: str = "",
    ) -> None:  # fmt: skip
        self.status, self.delay_s, self.body = status, delay_s, body
        self.answer_headers = {
            name: value for name, value in (("Retry-After", retry_after), ("Location", location)) if value
        }

    def url_for(self, path: str = "/hooks") -> str:
        return self.url + path

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/{path:.*}", self._receive)]

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            self.verifier.verify(body, headers)
        except WebhookVerificationError as exc:
            self.rejected.append(str(exc))
            return web.Response(status=401, text="invalid signature")
        self.received.append(ReceivedWebhook(request.path, headers, body))
        await asyncio.sleep(self.delay_s)
        return web.Response(status=self.status, headers=self.answer_headers, text=self.body)
