"""Gateway: internal events about portal users (never customer-visible, never sent as webhooks)."""

from datetime import datetime
from typing import ClassVar, Literal

from contracts.base import Event
from contracts.subjects import GATEWAY


class PasswordResetRequested(Event):
    """A portal user asked for a password reset; notify emails them the single-use link.

    `reset_url` carries the secret token: consumers must never log it.
    """

    subject: ClassVar[str] = "gateway.password_reset.requested.v1"
    stream: ClassVar[str | None] = GATEWAY.name
    durables: ClassVar = ("notify-password-reset",)
    email: str
    reset_url: str
    locale: Literal["de", "en"] = "de"
    expires_at: datetime
