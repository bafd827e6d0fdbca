"""Gateway: internal events and requests about portal users (never customer-visible, never webhooks).

No secret travels on the bus: a password reset link is a credential, so the event that asks notify
to mail it names the reset only, and notify fetches the link from the gateway by request/reply
(core NATS, never kept in a stream) right before sending. `gateway.password_reset.requested.v1`,
which carried the link itself, is retired.
"""

from datetime import datetime
from typing import ClassVar, Literal

from contracts.base import Event, Reply, Request
from contracts.subjects import GATEWAY


class PasswordResetIssued(Event):
    """A portal user asked for a password reset; notify fetches the link (`GetPasswordResetLink`) and mails it."""

    subject: ClassVar[str] = "gateway.password_reset.issued.v1"
    stream: ClassVar[str | None] = GATEWAY.name
    durables: ClassVar = ("notify-password-reset-link",)  # its reader (the NATS permission matrix)
    reset_id: str


class PasswordResetLink(Reply):
    """The link itself: a credential, never to be logged or stored."""

    email: str
    reset_url: str
    locale: Literal["de", "en"] = "de"
    expires_at: datetime


class GetPasswordResetLink(Request):
    """Only notify may ask (NATS permissions); `not_found` once the link was used or has expired."""

    subject: ClassVar[str] = "rpc.gateway.password_reset.link.v1"
    reply_model: ClassVar = PasswordResetLink
    callers: ClassVar = ("notify",)  # the only NATS user allowed to ask
    reset_id: str
