"""Keys the gateway derives from its one configured secret: SESSION_SECRET, else the admin token.

Every replica derives the same key for a purpose, so what one replica signs another can check. A
purpose has its own key: the login form's CSRF token cannot stand in for a password reset link.
Without any secret (development only) each process has a random key of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_process_key = secrets.token_bytes(32)


def derived_key(settings, purpose: str) -> bytes:
    secret = settings.session_secret or settings.gateway_admin_token
    if not secret:
        return hmac.new(_process_key, purpose.encode(), hashlib.sha256).digest()
    return hashlib.sha256(f"pp-{purpose}\0".encode() + secret.encode()).digest()
