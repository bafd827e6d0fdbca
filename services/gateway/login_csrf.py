"""CSRF protection for the login form, before any session exists: a signed double-submit token.

`GET /login` sets a random nonce in an HttpOnly cookie and puts HMAC(key, nonce) in the form. A
cross-site page can make the browser send the cookie but cannot read it, so it cannot produce the
matching form field. The nonce carries its issue time, so an old form expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from services.gateway import keys

COOKIE = "pp_login_csrf"
MAX_AGE_S = 2 * 3600


def signing_key(settings) -> bytes:
    """Shared by every replica when SESSION_SECRET or the admin token is set; else per process."""
    return keys.derived_key(settings, "login-csrf")


def new_nonce() -> str:
    return f"{int(time.time())}.{secrets.token_urlsafe(18)}"


def token_for(key: bytes, nonce: str) -> str:
    mac = hmac.new(key, nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def valid(key: bytes, nonce: str | None, token: str | None, *, now: float | None = None) -> bool:
    if not nonce or not token:
        return False
    issued, _, _ = nonce.partition(".")
    if not issued.isdigit() or (now or time.time()) - int(issued) > MAX_AGE_S:
        return False
    return hmac.compare_digest(token.encode(), token_for(key, nonce).encode())
