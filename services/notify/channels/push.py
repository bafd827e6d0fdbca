"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payloads (RFC 8291).

pywebpush encrypts the payload and py_vapid signs the claims; the request itself goes through the
SSRF guard webhooks use (`ssrf.guarded_client`), because a subscription's endpoint is a URL any
browser can hand us: internal addresses are refused, the address checked is the one connected
to, redirects are not followed and at most a KiB of the answer is read.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from pywebpush import WebPusher, WebPushException

from contracts.portal.catalog import CATALOG
from services.notify.channels.result import DeliveryResult, Outcome, Stopwatch, parse_retry_after
from services.notify.channels.ssrf import UnsafeDestination, guarded_client, read_snippet, split_url
from services.notify.channels.templates import render_short
from services.notify.jobs import Audience, Claimed

if TYPE_CHECKING:
    from services.notify.config import NotifySettings

GONE_STATUSES = frozenset({404, 410})  # the browser unsubscribed or the subscription expired
VAPID_CLAIMS_S = 12 * 3600  # how long a signed VAPID token is good for (RFC 8292: at most 24 h)


@dataclass(frozen=True, slots=True)
class VapidSettings:
    private_key: str  # raw base64url (32 bytes) or the path of a PEM file
    subject: str  # "mailto:…" or "https://…", tells push services whom to contact
    ttl_s: int = 86_400
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class PushSubscription:
    endpoint: str
    p256dh: str
    auth: str

    @classmethod
    def from_json(cls, subscription: Mapping[str, Any]) -> PushSubscription:
        """The browser's `PushSubscription.toJSON()`: {endpoint, keys: {p256dh, auth}}."""
        keys = subscription["keys"]
        return cls(subscription["endpoint"], keys["p256dh"], keys["auth"])

    def as_info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def load_vapid_key(private_key: str) -> Vapid:
    if os.path.isfile(private_key):
        return Vapid.from_file(private_key_file=private_key)
    return Vapid.from_string(private_key=private_key)


def generate_vapid_private_key() -> str:
    """A new key in the raw base64url form `VAPID_PRIVATE_KEY` accepts."""
    secret = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return _b64url(secret.to_bytes(32, "big"))


def application_server_key(vapid: Vapid) -> str:
    """The public key the portal hands to `pushManager.subscribe({applicationServerKey})`."""
    return _b64url(vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def push_payload(event_type: str, locale: str | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """What the portal's service worker shows: {type, title, body, data}."""
    short = render_short(event_type, locale, data)
    return {"type": event_type, "title": short.title, "body": short.body, "data": dict(data)}


class PushSender:
    """One per process (it pools connections). Close it with `aclose()`."""

    def __init__(
        self, settings: VapidSettings, *, allow_private: bool = False, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._settings = settings
        self._vapid = load_vapid_key(settings.private_key)
        self._client = guarded_client(
            timeout_s=settings.timeout_s, allow_private=allow_private, ssl_context=ssl_context
        )

    async def send(
        self,
        subscription: PushSubscription,
        payload: Mapping[str, Any],
        *,
        ttl_s: int | None = None,
        urgency: str | None = None,  # "very-low" | "low" | "normal" | "high"
    ) -> DeliveryResult:
        """Encrypt `payload` (JSON) for the subscription and hand it to its push service."""
        watch = Stopwatch()
        try:
            split_url(subscription.endpoint)
            body, headers = self._request(subscription, payload, ttl_s=ttl_s, urgency=urgency)
            async with asyncio.timeout(self._settings.timeout_s):  # a total deadline, not one per read
                async with self._client.stream(
                    "POST", subscription.endpoint, content=body, headers=headers
                ) as response:
                    await read_snippet(response)
        except UnsafeDestination as exc:
            return DeliveryResult(Outcome.FAILED, watch.elapsed_ms(), error=f"refused: {exc}")
        except (WebPushException, ValueError) as exc:  # keys the browser handed us that do not work
            return DeliveryResult(Outcome.FAILED, watch.elapsed_ms(), error=f"{type(exc).__name__}: {exc}"[:300])
        except (TimeoutError, httpx.TimeoutException):
            return DeliveryResult(
                Outcome.RETRY, watch.elapsed_ms(), error=f"timeout after {self._settings.timeout_s:g} s"
            )
        except httpx.HTTPError as exc:
            return DeliveryResult(Outcome.RETRY, watch.elapsed_ms(), error=f"{type(exc).__name__}: {exc}")
        return _answered(response, watch.elapsed_ms())

    def _request(
        self, subscription: PushSubscription, payload: Mapping[str, Any], *, ttl_s: int | None, urgency: str | None
    ) -> tuple[bytes, dict[str, str]]:
        data = json.dumps(payload, separators=(",", ":")).encode()
        body = WebPusher(subscription.as_info()).encode(data, "aes128gcm")["body"]
        endpoint = urlsplit(subscription.endpoint)
        claims = {
            "sub": self._settings.subject,
            "aud": f"{endpoint.scheme}://{endpoint.netloc}",
            "exp": int(time.time()) + VAPID_CLAIMS_S,
        }
        headers = {
            "TTL": str(self._settings.ttl_s if ttl_s is None else ttl_s),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            **self._vapid.sign(claims),
        }
        if urgency:
            headers["Urgency"] = urgency
        return body, headers

    async def aclose(self) -> None:
        await self._client.aclose()


def classify_push_status(status: int | None) -> Outcome:
    if status in GONE_STATUSES:
        return Outcome.GONE
    if status is not None and (status == 429 or status >= 500):
        return Outcome.RETRY
    return Outcome.FAILED  # 400 bad request, 401/403 VAPID refused, 413 payload too large


def _answered(response: httpx.Response, duration_ms: int) -> DeliveryResult:
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult(Outcome.DELIVERED, duration_ms, status_code=status)
    return DeliveryResult(
        classify_push_status(status),  # redirects included: they are not followed
        duration_ms,
        error=f"push service answered {status}",
        status_code=status,
        retry_after_s=parse_retry_after(response.headers.get("retry-after")),
    )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PushChannel:
    """Web push to each of the tenant's browser subscriptions (a gone one is deleted)."""

    name: ClassVar[str] = "push"
    default_concurrency: ClassVar[int] = 20
    by_subscription: ClassVar[bool] = True

    def __init__(self, sender: PushSender) -> None:
        self.sender = sender

    @classmethod
    def from_settings(cls, settings: NotifySettings, nats: Callable[[], Any]) -> PushChannel:
        vapid = VapidSettings(private_key=settings.vapid_key(), subject=settings.vapid_subject)
        return cls(PushSender(vapid, allow_private=bool(settings.webhook_allow_private)))

    @staticmethod
    def targets(audience: Audience) -> list[str]:
        return list(audience.subscriptions)

    async def send(self, claimed: Claimed) -> DeliveryResult | None:
        sub, job = claimed.subscription, claimed.job
        if sub is None:
            return None  # unsubscribed meanwhile: nothing to send any more
        locale = claimed.contact.locale if claimed.contact else None
        spec = CATALOG.get(job.event_type)  # type: ignore[call-overload]
        return await self.sender.send(
            PushSubscription(sub.endpoint, sub.p256dh, sub.auth),
            push_payload(job.event_type, locale, job.payload["data"]),
            urgency=spec.push_urgency if spec else None,
        )

    async def aclose(self) -> None:
        await self.sender.aclose()
