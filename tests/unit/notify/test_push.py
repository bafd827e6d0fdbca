from pathlib import Path

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.notify.channels.push import (
    PushSender,
    PushSubscription,
    VapidSettings,
    application_server_key,
    generate_vapid_private_key,
    load_vapid_key,
    push_payload,
)
from services.notify.channels.result import Outcome
from tests.support.push_endpoint import PushEndpoint

SUBJECT = "mailto:billing@example.test"


def local_sender(settings: VapidSettings) -> PushSender:
    """The push service here listens on loopback, which the SSRF guard refuses outside development."""
    return PushSender(settings, allow_private=True)


@pytest.fixture
def vapid_key() -> str:
    return generate_vapid_private_key()


@pytest_asyncio.fixture
async def push_service(vapid_key: str):
    expected_key = application_server_key(load_vapid_key(vapid_key))
    async with PushEndpoint(vapid_public_key=expected_key) as endpoint:
        yield endpoint


@pytest.mark.asyncio
async def test_push_arrives_encrypted_and_decrypts_to_the_message(push_service: PushEndpoint, vapid_key: str) -> None:
    subscription = PushSubscription.from_json(push_service.subscribe())
    payload = push_payload("topup.succeeded", "de", {"amount_cents": 5000, "balance_cents": 12_345})

    result = await local_sender(VapidSettings(vapid_key, SUBJECT, ttl_s=600)).send(
        subscription, payload, urgency="high"
    )

    assert result.outcome is Outcome.DELIVERED and result.status_code == 201
    [push] = push_service.received
    assert push.json == payload
    assert push.json["body"] == "Aufladung über 50,00 € gutgeschrieben."
    assert (push.ttl, push.urgency) == (600, "high")
    assert push.claims["aud"] == push_service.url and push.claims["sub"] == SUBJECT


@pytest.mark.asyncio
async def test_vapid_key_from_a_pem_file_works(push_service: PushEndpoint, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "vapid.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    push_service.vapid_public_key = application_server_key(load_vapid_key(str(pem)))
    subscription = PushSubscription.from_json(push_service.subscribe())

    result = await local_sender(VapidSettings(str(pem), SUBJECT)).send(subscription, {"title": "hi"})

    assert result.outcome is Outcome.DELIVERED
    assert push_service.received[0].json == {"title": "hi"}


@pytest.mark.asyncio
async def test_expired_subscription_tells_the_caller_to_delete_it(push_service: PushEndpoint, vapid_key: str) -> None:
    subscription = PushSubscription.from_json(push_service.subscribe())
    push_service.answer_status = 410

    result = await local_sender(VapidSettings(vapid_key, SUBJECT)).send(subscription, {"title": "hi"})

    assert result.outcome is Outcome.GONE and result.status_code == 410


@pytest.mark.asyncio
async def test_unknown_subscription_is_gone_too(push_service: PushEndpoint, vapid_key: str) -> None:
    known = push_service.subscribe()
    subscription = PushSubscription.from_json({**known, "endpoint": f"{push_service.url}/push/unknown"})

    result = await local_sender(VapidSettings(vapid_key, SUBJECT)).send(subscription, {"title": "hi"})

    assert result.outcome is Outcome.GONE and result.status_code == 404


@pytest.mark.asyncio
async def test_push_signed_with_another_key_is_refused_permanently(push_service: PushEndpoint) -> None:
    subscription = PushSubscription.from_json(push_service.subscribe())

    result = await local_sender(VapidSettings(generate_vapid_private_key(), SUBJECT)).send(
        subscription, {"title": "hi"}
    )

    assert result.outcome is Outcome.FAILED and result.status_code == 403
    assert push_service.received == [] and push_service.refused


@pytest.mark.asyncio
async def test_overloaded_push_service_is_retried_with_its_retry_after(
    push_service: PushEndpoint, vapid_key: str
) -> None:
    subscription = PushSubscription.from_json(push_service.subscribe())
    push_service.answer_status, push_service.answer_headers = 503, {"Retry-After": "120"}

    result = await local_sender(VapidSettings(vapid_key, SUBJECT)).send(subscription, {"title": "hi"})

    assert result.outcome is Outcome.RETRY and result.status_code == 503
    assert result.retry_after_s == 120
