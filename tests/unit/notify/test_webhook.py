import base64
import uuid
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from services.notify.channels.result import Outcome
from services.notify.channels.webhook import WebhookMessage, WebhookSender, generate_secret, sign
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def secret() -> str:
    return generate_secret()


@pytest_asyncio.fixture
async def receiver(secret: str):
    async with WebhookReceiver(secret) as receiver:
        yield receiver


@pytest_asyncio.fixture
async def sender():
    async with WebhookSender(timeout_s=2, allow_private=True) as sender:
        yield sender


def balance_low() -> WebhookMessage:
    return WebhookMessage(
        "balance.low",
        {"tenant_id": str(uuid.uuid4()), "balance_cents": 900},
        datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
    )


def test_secret_is_whsec_and_24_to_64_random_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert generate_secret() != secret
    with pytest.raises(ValueError):
        generate_secret(16)


def test_signature_matches_the_specification_example() -> None:
    # Example from the Standard Webhooks specification
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


@pytest.mark.asyncio
async def test_delivery_is_signed_and_verified_by_standardwebhooks(receiver, sender, secret) -> None:
    message = balance_low()

    result = await sender.send(url=receiver.url_for("/hooks/billing"), secret=secret, message=message)

    assert result.outcome is Outcome.DELIVERED and result.status_code == 204
    [delivery] = receiver.received
    assert delivery.path == "/hooks/billing"
    assert delivery.webhook_id == message.webhook_id
    assert delivery.payload == {
        "type": "balance.low",
        "timestamp": "2025-03-01T12:00:00Z",
        "data": dict(message.data),
    }
    assert result.duration_ms >= 0


@pytest.mark.asyncio
async def test_wrong_secret_is_rejected_by_the_receiver(receiver, sender) -> None:
    result = await sender.send(url=receiver.url_for(), secret=generate_secret(), message=balance_low())

    assert result.outcome is Outcome.RETRY and result.status_code == 401
    assert receiver.received == [] and receiver.rejected


@pytest.mark.asyncio
async def test_every_attempt_carries_the_same_webhook_id_and_body(receiver, sender, secret) -> None:
    message = balance_low()
    receiver.respond(500, body="oops")
    first = await sender.send(url=receiver.url_for(), secret=secret, message=message)
    receiver.respond(200, body="ok")
    second = await sender.send(url=receiver.url_for(), secret=secret, message=message)

    assert (first.outcome, first.status_code, first.response_snippet) == (Outcome.RETRY, 500, "oops")
    assert (second.outcome, second.response_snippet) == (Outcome.DELIVERED, "ok")
    assert [d.webhook_id for d in receiver.received] == [message.webhook_id] * 2
    assert receiver.received[0].body == receiver.received[1].body


@pytest.mark.asyncio
async def test_gone_endpoint_is_classified_for_disabling(receiver, sender, secret) -> None:
    receiver.respond(410)

    result = await sender.send(url=receiver.url_for(), secret=secret, message=balance_low())

    assert result.outcome is Outcome.GONE and result.status_code == 410


@pytest.mark.asyncio
async def test_rate_limited_answer_reports_its_retry_after(receiver, sender, secret) -> None:
    receiver.respond(429, retry_after="120")

    result = await sender.send(url=receiver.url_for(), secret=secret, message=balance_low())

    assert result.outcome is Outcome.RETRY
    assert (result.status_code, result.retry_after_s) == (429, 120)


@pytest.mark.asyncio
async def test_retry_after_as_http_date_is_understood(receiver, sender, secret) -> None:
    receiver.respond(429, retry_after="Wed, 21 Oct 2099 07:28:00 GMT")

    result = await sender.send(url=receiver.url_for(), secret=secret, message=balance_low())

    assert result.retry_after_s is not None and result.retry_after_s > 86_400


@pytest.mark.asyncio
async def test_slow_endpoint_times_out_and_is_retried(receiver, secret) -> None:
    receiver.respond(200, delay_s=2)
    async with WebhookSender(timeout_s=0.3, allow_private=True) as sender:
        result = await sender.send(url=receiver.url_for(), secret=secret, message=balance_low())

    assert result.outcome is Outcome.RETRY
    assert "timeout" in (result.error or "")
    assert 250 <= result.duration_ms < 1500


@pytest.mark.asyncio
async def test_redirect_is_not_followed(receiver, sender, secret) -> None:
    receiver.respond(307, location=receiver.url_for("/elsewhere"))

    result = await sender.send(url=receiver.url_for("/hooks"), secret=secret, message=balance_low())

    assert result.outcome is Outcome.RETRY and result.status_code == 307
    assert [d.path for d in receiver.received] == ["/hooks"]


@pytest.mark.asyncio
async def test_long_answer_is_cut_to_one_kib(receiver, sender, secret) -> None:
    receiver.respond(200, body="x" * 100_000)

    result = await sender.send(url=receiver.url_for(), secret=secret, message=balance_low())

    assert result.response_snippet == "x" * 1024


@pytest.mark.asyncio
async def test_loopback_receiver_is_refused_without_allow_private(receiver, secret) -> None:
    async with WebhookSender(timeout_s=2) as sender:
        result = await sender.send(url=receiver.url_for(), secret=secret, message=balance_low())

    assert result.outcome is Outcome.FAILED
    assert "127.0.0.1" in (result.error or "")
    assert receiver.received == []


@pytest.mark.asyncio
async def test_unreachable_endpoint_is_retried(sender, secret) -> None:
    async with WebhookReceiver(secret) as gone:
        url = gone.url_for()

    result = await sender.send(url=url, secret=secret, message=balance_low())

    assert result.outcome is Outcome.RETRY and result.status_code is None


@pytest.mark.asyncio
async def test_hostname_resolving_to_loopback_is_refused_at_send_time(receiver, secret) -> None:
    async with WebhookSender(timeout_s=2) as sender:
        result = await sender.send(url=f"http://localhost:{receiver.port}/hooks", secret=secret, message=balance_low())

    assert result.outcome is Outcome.FAILED and receiver.received == []


@pytest.mark.asyncio
async def test_non_http_url_is_refused_at_send_time(sender, secret) -> None:
    result = await sender.send(url="file:///etc/passwd", secret=secret, message=balance_low())

    assert result.outcome is Outcome.FAILED and "refused" in (result.error or "")
