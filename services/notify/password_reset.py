"""Email a portal user the password reset link the gateway asked for (`PasswordResetRequested`).

Sent to the user's own address, not the tenant's billing contact, and outside the delivery jobs:
the link is a credential, so it is never written to notify's tables or logs. Each event is claimed
in the inbox in the transaction that sends it: a transient SMTP failure rolls the claim back and the
message is redelivered; a sent (or permanently refused) mail commits it, so a redelivery sends nothing.
"""

from __future__ import annotations

import structlog

from contracts.base import utcnow
from contracts.gateway.v1 import PasswordResetRequested
from runtime.db import Database
from runtime.inbox import claim_new
from services.notify.channels.email import SmtpSettings, send_email
from services.notify.channels.result import Outcome
from services.notify.channels.templates import render_password_reset

CONSUMER = "notify-password-reset"
log = structlog.get_logger(__name__)


class ResetMailNotSent(Exception):
    """A transient failure; the message says nothing about the link."""


async def send_reset_links(*, db: Database, smtp: SmtpSettings, events: list[PasswordResetRequested]) -> None:
    for event in events:
        async with db.transaction() as session:
            if not await claim_new(session, consumer=CONSUMER, message_ids=[event.event_id]):
                continue
            if event.expires_at <= utcnow():
                log.info("notify.password_reset_expired", event_id=event.event_id, tenant_id=event.tenant_id)
                continue
            rendered = render_password_reset(event.locale, reset_url=event.reset_url, expires_at=event.expires_at)
            result = await send_email(smtp, to=event.email, rendered=rendered)
            if result.outcome is Outcome.RETRY:
                raise ResetMailNotSent(f"password reset mail for {event.event_id} not sent: {result.error}")
            log.info("notify.password_reset_mailed", event_id=event.event_id, tenant_id=event.tenant_id,
                     outcome=result.outcome.value, error=result.error)
