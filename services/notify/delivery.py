"""Sends one claimed job through its channel adapter; answers a `DeliveryResult` (None: nothing to
send any more, e.g. the push subscription or webhook endpoint is gone or disabled)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.base import utcnow
from contracts.documents.v1 import GetDocumentFile
from runtime.messaging import RequestFailed, ServiceError, request
from services.notify.channels.email import Attachment, SmtpSettings, send_event_email
from services.notify.channels.push import PushSender, PushSubscription, push_payload
from services.notify.channels.result import DeliveryResult, Outcome
from services.notify.channels.sms import SmsSender
from services.notify.channels.templates import render_short
from services.notify.channels.webhook import WebhookMessage, WebhookSender
from services.notify.tables import Contact, PushSubscriptionRow, WebhookEndpoint

DOCUMENT_RETRY_CAP_S = 300


@dataclass(frozen=True)
class Job:
    id: str
    tenant_id: str
    event_id: str
    event_type: str
    channel: str
    target: str
    payload: dict[str, Any]
    webhook_id: str | None
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Claimed:
    job: Job
    contact: Contact | None = None
    subscription: PushSubscriptionRow | None = None
    endpoint: WebhookEndpoint | None = None


class Channels:
    """The adapters of one process. `nats` answers the live NATS connection (documents RPC)."""

    def __init__(self, *, smtp: SmtpSettings, sms: SmsSender, push: PushSender, webhooks: WebhookSender,
                 nats, document_wait_s: float) -> None:
        self.smtp, self.sms, self.push, self.webhooks = smtp, sms, push, webhooks
        self._nats, self._document_wait_s = nats, document_wait_s

    async def deliver(self, claimed: Claimed) -> DeliveryResult | None:
        send = {"email": self._email, "sms": self._sms, "push": self._push, "webhook": self._webhook}
        return await send[claimed.job.channel](claimed)

    async def aclose(self) -> None:
        await self.sms.aclose()
        await self.push.aclose()
        await self.webhooks.aclose()

    async def _email(self, c: Claimed) -> DeliveryResult:
        job, contact = c.job, c.contact
        if contact is None:
            return DeliveryResult(Outcome.RETRY, error="the tenant's contact is not known yet")
        if not contact.email:
            return DeliveryResult(Outcome.FAILED, error="the tenant has no email address")
        attachments: list[Attachment] = []
        if job.event_type == "document.issued":
            attachment, waiting = await self._document(job)
            if waiting is not None:
                return waiting
            attachments = [attachment] if attachment else []
        return await send_event_email(self.smtp, to=contact.email, event_type=job.event_type,
                                      locale=contact.locale, data=job.payload["data"],
                                      recipient_name=contact.name or None, attachments=attachments)

    async def _document(self, job: Job) -> tuple[Attachment | None, DeliveryResult | None]:
        """The document's PDF; while documents cannot give it, wait (past the wait: send without)."""
        data = job.payload["data"]
        try:
            reply = await request(self._nats(), GetDocumentFile(
                tenant_id=job.tenant_id, document_id=str(data.get("id", "")), format="pdf"), timeout=5)
            content = base64.b64decode(reply.content_b64 or "")
            name = reply.filename or f"{data.get('number') or data.get('id')}.pdf"
            return Attachment(name, content, reply.media_type or "application/pdf"), None
        except (RequestFailed, ServiceError, ValueError) as exc:
            if (utcnow() - job.created_at).total_seconds() >= self._document_wait_s:
                return None, None
            delay = min(2 ** min(job.attempts, 10), DOCUMENT_RETRY_CAP_S)
            return None, DeliveryResult(Outcome.RETRY, error=f"document PDF not available: {exc}",
                                        retry_after_s=delay, keep_trying=True)

    async def _sms(self, c: Claimed) -> DeliveryResult:
        if c.contact is None:
            return DeliveryResult(Outcome.RETRY, error="the tenant's contact is not known yet")
        if not c.contact.phone:
            return DeliveryResult(Outcome.FAILED, error="the tenant has no phone number")
        short = render_short(c.job.event_type, c.contact.locale, c.job.payload["data"])
        return await self.sms.send(to=c.contact.phone, body=f"{short.title}: {short.body}")

    async def _push(self, c: Claimed) -> DeliveryResult | None:
        sub = c.subscription
        if sub is None:
            return None
        locale = c.contact.locale if c.contact else None
        payload = push_payload(c.job.event_type, locale, c.job.payload["data"])
        urgency = "high" if c.job.event_type in ("balance.depleted", "topup.failed") else None
        return await self.push.send(PushSubscription(sub.endpoint, sub.p256dh, sub.auth), payload,
                                    urgency=urgency)

    async def _webhook(self, c: Claimed) -> DeliveryResult | None:
        endpoint, job = c.endpoint, c.job
        if endpoint is None or endpoint.status != "enabled":
            return None
        message = WebhookMessage(job.event_type, job.payload["data"],
                                 datetime.fromisoformat(job.payload["occurred_at"]), webhook_id=job.webhook_id)
        return await self.webhooks.send(url=endpoint.url, secret=endpoint.secret, message=message)
