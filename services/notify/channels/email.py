"""E-mail over SMTP (aiosmtplib): text + HTML alternative, optional PDF attachments."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any, ClassVar

import aiosmtplib

from contracts.base import utcnow
from contracts.documents.v1 import GetDocumentFile
from runtime.messaging import RequestFailed, ServiceError, request
from services.notify.channels.result import DeliveryResult, Outcome, Stopwatch
from services.notify.channels.templates import RenderedEmail, render_email
from services.notify.jobs import Audience, Claimed, Job

if TYPE_CHECKING:
    from services.notify.config import NotifySettings

DOCUMENT_RETRY_CAP_S = 300


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    mail_from: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 15.0
    ca_file: str | None = None  # trust this CA too, e.g. a relay's self-signed certificate


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/pdf"


def build_message(
    *, mail_from: str, to: str, rendered: RenderedEmail, attachments: Iterable[Attachment] = ()
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain_of(mail_from))
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message


async def send_email(
    settings: SmtpSettings,
    *,
    to: str,
    rendered: RenderedEmail,
    attachments: Iterable[Attachment] = (),
) -> DeliveryResult:
    message = build_message(mail_from=settings.mail_from, to=to, rendered=rendered, attachments=attachments)
    watch = Stopwatch()
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            username=settings.username or None,
            password=settings.password or None,
            start_tls=settings.starttls,  # False, not None: never upgrade opportunistically
            timeout=settings.timeout_s,
            cert_bundle=settings.ca_file,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return DeliveryResult(_classify(exc), watch.elapsed_ms(), error=_describe(exc))
    return DeliveryResult(Outcome.DELIVERED, watch.elapsed_ms(), provider_id=message["Message-ID"])


async def send_event_email(
    settings: SmtpSettings,
    *,
    to: str,
    event_type: str,
    locale: str | None,
    data: Mapping[str, Any],
    recipient_name: str | None = None,
    attachments: Iterable[Attachment] = (),
) -> DeliveryResult:
    """Render the event's template in the tenant's locale and send it."""
    rendered = render_email(event_type, locale, data, recipient_name=recipient_name)
    return await send_email(settings, to=to, rendered=rendered, attachments=attachments)


def _classify(exc: BaseException) -> Outcome:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        return Outcome.FAILED if codes and all(code >= 500 for code in codes) else Outcome.RETRY
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Outcome.FAILED if exc.code >= 500 else Outcome.RETRY
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
        return Outcome.RETRY  # refused, disconnected, timed out, TLS handshake
    return Outcome.FAILED  # the server lacks what we are configured to use (STARTTLS, AUTH)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _domain_of(address: str) -> str | None:
    _, addr = parseaddr(address)
    return addr.rpartition("@")[2] or None


class EmailChannel:
    """Email to the tenant's address, the document's PDF attached to `document.issued`."""

    name: ClassVar[str] = "email"
    default_concurrency: ClassVar[int] = 20
    by_subscription: ClassVar[bool] = False

    def __init__(self, smtp: SmtpSettings, *, nats: Callable[[], Any], document_wait_s: float) -> None:
        self.smtp, self._nats, self._document_wait_s = smtp, nats, document_wait_s

    @classmethod
    def from_settings(cls, settings: NotifySettings, nats: Callable[[], Any]) -> EmailChannel:
        return cls(settings.smtp(), nats=nats, document_wait_s=settings.notify_document_wait_s)

    @staticmethod
    def targets(audience: Audience) -> list[str]:
        contact = audience.contact  # unknown yet: the job waits for it; the address is read when sending
        return [""] if contact is None or contact.email else []

    async def send(self, claimed: Claimed) -> DeliveryResult:
        job, contact = claimed.job, claimed.contact
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
        return await send_event_email(
            self.smtp,
            to=contact.email,
            event_type=job.event_type,
            locale=contact.locale,
            data=job.payload["data"],
            recipient_name=contact.name or None,
            attachments=attachments,
        )

    async def _document(self, job: Job) -> tuple[Attachment | None, DeliveryResult | None]:
        """The document's PDF; while documents cannot give it, wait (past the wait: send without)."""
        data = job.payload["data"]
        try:
            reply = await request(
                self._nats(),
                GetDocumentFile(tenant_id=job.tenant_id, document_id=str(data.get("id", "")), format="pdf"),
                timeout=5,
            )
            content = base64.b64decode(reply.content_b64 or "")
            name = reply.filename or f"{data.get('number') or data.get('id')}.pdf"
            return Attachment(name, content, reply.media_type or "application/pdf"), None
        except (RequestFailed, ServiceError, ValueError) as exc:
            if (utcnow() - job.created_at).total_seconds() >= self._document_wait_s:
                return None, None
            delay = min(2 ** min(job.attempts, 10), DOCUMENT_RETRY_CAP_S)
            return None, DeliveryResult(
                Outcome.RETRY, error=f"document PDF not available: {exc}", retry_after_s=delay, keep_trying=True
            )

    async def aclose(self) -> None:
        return None
