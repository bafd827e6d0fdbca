"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payloads (RFC 8291), via pywebpush."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from services.notify.channels.result import DeliveryResult, Outcome, Stopwatch, parse_retry_after
from services.notify.channels.templates import render_short

GONE_STATUSES = frozenset({404, 410})  # the browser unsubscribed or the subscription expired


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
    def __init__(self, settings: VapidSettings, session: aiohttp.ClientSession | None = None) -> None:
        self._settings = settings
        self._vapid = load_vapid_key(settings.private_key)
        self._session = session

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
            response = await webpush_async(
                subscription.as_info(),
                data=json.dumps(payload, separators=(",", ":")),
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self._settings.subject},  # aud and exp are filled in per call
                content_encoding="aes128gcm",
                timeout=self._settings.timeout_s,
                ttl=self._settings.ttl_s if ttl_s is None else ttl_s,
                headers={"Urgency": urgency} if urgency else None,
                aiohttp_session=self._session,
            )
        except WebPushException as exc:
            return _rejected(exc, watch.elapsed_ms())
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return DeliveryResult(Outcome.RETRY, watch.elapsed_ms(), error=f"{type(exc).__name__}: {exc}")
        return DeliveryResult(Outcome.DELIVERED, watch.elapsed_ms(), status_code=response.status)


def classify_push_status(status: int | None) -> Outcome:
    if status in GONE_STATUSES:
        return Outcome.GONE
    if status is not None and (status == 429 or status >= 500):
        return Outcome.RETRY
    return Outcome.FAILED  # 400 bad request, 401/403 VAPID refused, 413 payload too large


def _rejected(exc: WebPushException, duration_ms: int) -> DeliveryResult:
    status = exc.status_code
    return DeliveryResult(
        classify_push_status(status),
        duration_ms,
        error=exc.message.splitlines()[0],
        status_code=status,
        retry_after_s=parse_retry_after(exc.retry_after),
    )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
