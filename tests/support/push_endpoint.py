"""A local push service: checks the VAPID JWT and decrypts aes128gcm payloads like a browser.

async with PushEndpoint() as push:
    subscription = push.subscribe()        # browser-shaped {endpoint, keys: {p256dh, auth}}
    ... send ...
    push.received[0].json                  # the decrypted message
push.answer_status = 410                   # every later push is answered "Gone"
push.answer_headers = {"Retry-After": "120"}
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from devtools.http_peer import HttpPeer

MAX_JWT_LIFETIME_S = 24 * 3600  # RFC 8292 §2


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class BrowserKeys:
    """What a browser keeps for one subscription: its ECDH key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url_encode(self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


@dataclass(frozen=True)
class ReceivedPush:
    subscription_id: str
    plaintext: bytes
    ttl: int
    urgency: str | None
    claims: dict[str, Any]

    @property
    def json(self) -> Any:
        return json.loads(self.plaintext)


class PushRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class PushEndpoint(HttpPeer):
    def __init__(self, vapid_public_key: str | None = None) -> None:
        super().__init__()
        self.vapid_public_key = vapid_public_key  # when set, pushes signed by another key are refused
        self.answer_status: int | None = None  # answer every push with this, e.g. 410
        self.answer_headers: dict[str, str] = {}
        self.received: list[ReceivedPush] = []
        self.refused: list[str] = []
        self._subscriptions: dict[str, BrowserKeys] = {}

    def subscribe(self) -> dict[str, Any]:
        subscription_id, keys = secrets.token_urlsafe(12), BrowserKeys()
        self._subscriptions[subscription_id] = keys
        return {
            "endpoint": f"{self.url}/push/{subscription_id}",
            "keys": {"p256dh": keys.p256dh, "auth": b64url_encode(keys.auth_secret)},
        }

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/push/{subscription_id}", self._receive)]

    async def _receive(self, request: web.Request) -> web.Response:
        if self.answer_status is not None:
            return web.Response(status=self.answer_status, headers=self.answer_headers, text="configured")
        keys = self._subscriptions.get(request.match_info["subscription_id"])
        if keys is None:
            return web.Response(status=404, text="no such subscription")
        try:
            claims = self._verify_vapid(request.headers.get("Authorization", ""))
            plaintext = self._decrypt(request, await request.read(), keys)
        except PushRefused as refusal:
            self.refused.append(str(refusal))
            return web.Response(status=refusal.status, text=str(refusal))
        self.received.append(
            ReceivedPush(
                request.match_info["subscription_id"],
                plaintext,
                int(request.headers["TTL"]),
                request.headers.get("Urgency"),
                claims,
            )
        )
        return web.Response(status=201, headers={"Location": f"{self.url}/messages/{secrets.token_hex(8)}"})

    def _verify_vapid(self, authorization: str) -> dict[str, Any]:
        scheme, _, params = authorization.partition(" ")
        fields = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        if scheme.lower() != "vapid" or not {"t", "k"} <= fields.keys():
            raise PushRefused(401, "missing vapid t=…, k=… authorization")
        if self.vapid_public_key is not None and fields["k"] != self.vapid_public_key:
            raise PushRefused(403, "signed by an unexpected VAPID key")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(fields["k"]))
        try:
            claims = jwt.decode(
                fields["t"],
                key=public_key,
                algorithms=["ES256"],
                audience=self.url,
                options={"require": ["exp", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise PushRefused(403, f"invalid VAPID JWT: {exc}") from exc
        if claims["exp"] > time.time() + MAX_JWT_LIFETIME_S:
            raise PushRefused(403, "VAPID JWT lives longer than 24 h")
        if not str(claims["sub"]).startswith(("mailto:", "https://")):
            raise PushRefused(403, "VAPID sub is neither mailto: nor https:")
        return claims

    @staticmethod
    def _decrypt(request: web.Request, body: bytes, keys: BrowserKeys) -> bytes:
        if request.headers.get("Content-Encoding") != "aes128gcm":
            raise PushRefused(415, "payload must be aes128gcm")
        if "TTL" not in request.headers:
            raise PushRefused(400, "missing TTL header")
        try:
            return http_ece.decrypt(
                body, private_key=keys.private_key, auth_secret=keys.auth_secret, version="aes128gcm"
            )
        except Exception as exc:  # http_ece raises bare ECEError / InvalidTag
            raise PushRefused(400, f"cannot decrypt payload: {exc!r}") from exc
