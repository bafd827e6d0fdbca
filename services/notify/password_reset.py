"""Email a portal user the password reset link the gateway issued (`PasswordResetIssued`).

The event names the reset only: the link, a credential, is fetched from the gateway by request/reply
(`GetPasswordResetLink`, never kept on the bus) right before the mail goes out, and is never written
to notify's tables or logs. Sent to the user's own address, not the tenant's billing contact, and
outside the delivery jobs. Each event is claimed in the inbox in the transaction that sends it: a
transient failure (gateway or SMTP) rolls the claim back and the message is redelivered; a sent (or
permanently refused) mail commits it, so a redelivery sends nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from contracts.gateway.v1 import GetPasswordResetLink, PasswordResetIssued, PasswordResetLink
from runtime.db import Database
from runtime.inbox import claim_new
from runtime.messaging import ServiceError
from services.notify.channels.email import SmtpSettings, send_email
from services.notify.channels.result import Outcome
from services.notify.channels.templates import render_password_reset

CONSUMER = PasswordResetIssued.durables[0]
log = structlog.get_logger(__name__)
AskGateway = Callable[[GetPasswordResetLink], Awaitable[PasswordResetLink]]


class ResetMailNotSent(Exception):
    """A transient failure; the message says nothing about the link."""


async def send_reset_links(
    *, db: Database, smtp: SmtpSettings, ask_gateway: AskGateway, events: list[PasswordResetIssued]
) -> None:
    for event in events:
        async with db.transaction() as session:
            if not await claim_new(session, consumer=CONSUMER, message_ids=[event.event_id]):
                continue
            try:  # RequestFailed (the gateway did not answer) propagates: retried
                link = await ask_gateway(GetPasswordResetLink(reset_id=event.reset_id))
            except ServiceError as exc:  # used, expired or unknown: nothing to send
                log.info(
                    "notify.password_reset_not_sent",
                    event_id=event.event_id,
                    tenant_id=event.tenant_id,
                    reason=exc.code,
                )
                continue
            rendered = render_password_reset(link.locale, reset_url=link.reset_url, expires_at=link.expires_at)
            result = await send_email(smtp, to=link.email, rendered=rendered)
            if result.outcome is Outcome.RETRY:
                raise ResetMailNotSent(f"password reset mail for {event.event_id} not sent: {result.error}")
            log.info(
                "notify.password_reset_mailed",
                event_id=event.event_id,
                tenant_id=event.tenant_id,
                outcome=result.outcome.value,
                error=result.error,
            )
