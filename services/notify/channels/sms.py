"""SMS through Twilio's official SDK with its asyncio HTTP client.

`TWILIO_API_BASE` (e.g. `http://127.0.0.1:9000`) replaces `https://api.twilio.com`: the SDK
builds every URL of the `api` domain from `client.api.base_url`, so that attribute is where a
local stand-in goes in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from services.notify.channels.result import DeliveryResult, Outcome, Stopwatch
from services.notify.channels.templates import render_short
from services.notify.jobs import Audience, Claimed

if TYPE_CHECKING:
    from services.notify.config import NotifySettings

# Twilio error codes that no retry can fix: bad credentials, invalid / unreachable / opted-out
# recipient, sender not allowed to send there.
PERMANENT_ERROR_CODES = frozenset({20003, 21211, 21408, 21606, 21610, 21612, 21614})


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    from_number: str
    api_base: str | None = None
    timeout_s: float = 10.0


class SmsSender:
    """One per process: it holds an aiohttp session. Close it with `aclose()` or `async with`."""

    def __init__(self, settings: TwilioSettings) -> None:
        self._settings = settings
        self._http = AsyncTwilioHttpClient()
        self._client = Client(settings.account_sid, settings.auth_token, http_client=self._http)
        if settings.api_base:
            self._client.edge = self._client.region = None  # no hostname rewriting of our base
            self._client.api.base_url = settings.api_base.rstrip("/")

    async def send(self, *, to: str, body: str) -> DeliveryResult:
        watch = Stopwatch()
        try:
            # The SDK's async client ignores its own `timeout`, so the deadline is ours.
            async with asyncio.timeout(self._settings.timeout_s):
                message = await self._client.messages.create_async(to=to, from_=self._settings.from_number, body=body)
        except (TwilioRestException, TwilioServiceException) as exc:
            return _api_error(exc, watch.elapsed_ms())
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return DeliveryResult(Outcome.RETRY, watch.elapsed_ms(), error=_describe(exc))
        return DeliveryResult(Outcome.DELIVERED, watch.elapsed_ms(), status_code=201, provider_id=message.sid)

    async def aclose(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def classify_twilio_error(*, status: int, code: int | None) -> Outcome:
    if code in PERMANENT_ERROR_CODES:
        return Outcome.FAILED
    if status == 429 or status >= 500:
        return Outcome.RETRY
    return Outcome.FAILED  # any other 4xx: the request itself is wrong


def _api_error(exc: TwilioRestException | TwilioServiceException, duration_ms: int) -> DeliveryResult:
    message = exc.msg if isinstance(exc, TwilioRestException) else exc.title
    return DeliveryResult(
        classify_twilio_error(status=exc.status, code=exc.code),
        duration_ms,
        error=f"twilio {exc.code}: {message}",
        status_code=exc.status,
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class SmsChannel:
    """A short text to the tenant's phone number."""

    name: ClassVar[str] = "sms"
    default_concurrency: ClassVar[int] = 10
    by_subscription: ClassVar[bool] = False

    def __init__(self, sender: SmsSender) -> None:
        self.sender = sender

    @classmethod
    def from_settings(cls, settings: NotifySettings, nats: Callable[[], Any]) -> SmsChannel:
        return cls(
            SmsSender(
                TwilioSettings(
                    account_sid=settings.twilio_account_sid,
                    auth_token=settings.twilio_token(),
                    from_number=settings.twilio_from,
                    api_base=settings.twilio_api_base,
                )
            )
        )

    @staticmethod
    def targets(audience: Audience) -> list[str]:
        contact = audience.contact  # unknown yet: the job waits for it; the number is read when sending
        return [""] if contact is None or contact.phone else []

    async def send(self, claimed: Claimed) -> DeliveryResult:
        contact = claimed.contact
        if contact is None:
            return DeliveryResult(Outcome.RETRY, error="the tenant's contact is not known yet")
        if not contact.phone:
            return DeliveryResult(Outcome.FAILED, error="the tenant has no phone number")
        short = render_short(claimed.job.event_type, contact.locale, claimed.job.payload["data"])
        return await self.sender.send(to=contact.phone, body=f"{short.title}: {short.body}")

    async def aclose(self) -> None:
        await self.sender.aclose()
