"""Outgoing webhooks signed per the Standard Webhooks specification (standardwebhooks.com).

Every attempt of one message carries the same `webhook-id` and body; only the
`webhook-timestamp` and so the signature change from attempt to attempt.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import httpx

from services.notify.channels.result import DeliveryResult, Outcome, Stopwatch, parse_retry_after
from services.notify.channels.ssrf import UnsafeDestination, guarded_client, read_snippet, split_url

SECRET_PREFIX = "whsec_"
USER_AGENT = "billing-webhooks/1"


def generate_secret(num_bytes: int = 32) -> str:
    if not 24 <= num_bytes <= 64:
        raise ValueError("a webhook secret has 24 to 64 bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(num_bytes)).decode()


def new_webhook_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    event_type: str
    data: Mapping[str, Any]
    occurred_at: datetime
    webhook_id: str = field(default_factory=new_webhook_id)

    def body(self) -> bytes:
        timestamp = self.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        payload = {"type": self.event_type, "timestamp": timestamp, "data": dict(self.data)}
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    def headers(self, secret: str, body: bytes, *, now: int | None = None) -> dict[str, str]:
        timestamp = int(time.time()) if now is None else now
        return {
            "webhook-id": self.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, self.webhook_id, timestamp, body),
        }


def classify_webhook_status(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.GONE  # the customer tells us to stop: disable the endpoint at once
    return Outcome.RETRY  # any other answer, redirects included (they are not followed)


class WebhookSender:
    """One per process (it pools connections). Close it with `aclose()` or `async with`."""

    def __init__(
        self,
        *,
        timeout_s: float = 15.0,
        allow_private: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout_s = timeout_s
        self._client = guarded_client(
            timeout_s=timeout_s,
            allow_private=allow_private,
            ssl_context=ssl_context,
            headers={"user-agent": USER_AGENT, "content-type": "application/json"},
        )

    async def send(self, *, url: str, secret: str, message: WebhookMessage) -> DeliveryResult:
        body, watch = message.body(), Stopwatch()
        try:
            split_url(url)
            async with asyncio.timeout(self._timeout_s):  # a total deadline, not one per read
                async with self._client.stream(
                    "POST", url, content=body, headers=message.headers(secret, body)
                ) as response:
                    snippet = await read_snippet(response)
        except UnsafeDestination as exc:
            return DeliveryResult(Outcome.FAILED, watch.elapsed_ms(), error=f"refused: {exc}")
        except (TimeoutError, httpx.TimeoutException):
            return DeliveryResult(Outcome.RETRY, watch.elapsed_ms(), error=f"timeout after {self._timeout_s:g} s")
        except httpx.HTTPError as exc:
            return DeliveryResult(Outcome.RETRY, watch.elapsed_ms(), error=f"{type(exc).__name__}: {exc}")
        return _answered(response, snippet, watch.elapsed_ms())

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _answered(response: httpx.Response, snippet: str, duration_ms: int) -> DeliveryResult:
    retry_after = response.headers.get("retry-after") if response.status_code in (429, 503) else None
    return DeliveryResult(
        classify_webhook_status(response.status_code),
        duration_ms,
        status_code=response.status_code,
        response_snippet=snippet,
        retry_after_s=parse_retry_after(retry_after),
    )
