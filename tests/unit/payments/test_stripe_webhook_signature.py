from __future__ import annotations

import json
import time

import pytest

from devtools.stripe_emulator.dispatch import sign
from services.payments.stripe.client import verify_webhook
from services.payments.stripe.errors import WebhookVerificationFailed

SECRET = "whsec_signature_test"
EVENT = json.dumps(
    {"id": "evt_1", "object": "event", "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}}
).encode()


def test_correctly_signed_event_is_accepted() -> None:
    assert verify_webhook(EVENT, sign(EVENT, SECRET), SECRET)["data"]["object"]["id"] == "ch_1"


def test_event_signed_with_another_secret_is_rejected() -> None:
    with pytest.raises(WebhookVerificationFailed):
        verify_webhook(EVENT, sign(EVENT, "whsec_forged"), SECRET)


def test_tampered_body_is_rejected() -> None:
    with pytest.raises(WebhookVerificationFailed):
        verify_webhook(EVENT.replace(b"ch_1", b"ch_2"), sign(EVENT, SECRET), SECRET)


def test_event_older_than_tolerance_is_rejected() -> None:
    stale = sign(EVENT, SECRET, timestamp=int(time.time()) - 301)

    with pytest.raises(WebhookVerificationFailed):
        verify_webhook(EVENT, stale, SECRET)
    assert verify_webhook(EVENT, sign(EVENT, SECRET, timestamp=int(time.time()) - 290), SECRET)


@pytest.mark.parametrize("header", [None, "", "garbage", "t=1,v0=abc"])
def test_missing_or_malformed_signature_is_rejected(header: str | None) -> None:
    with pytest.raises(WebhookVerificationFailed):
        verify_webhook(EVENT, header, SECRET)


def test_signed_body_that_is_not_an_event_is_rejected() -> None:
    body = b"[1, 2]"
    with pytest.raises(WebhookVerificationFailed):
        verify_webhook(body, sign(body, SECRET), SECRET)
