import secrets

import pytest
import pytest_asyncio

from devtools.twilio_stub import TwilioStub
from services.notify.channels.result import Outcome
from services.notify.channels.sms import SmsSender, TwilioSettings, classify_twilio_error


@pytest_asyncio.fixture
async def stub():
    account_sid = "AC" + secrets.token_hex(16)
    async with TwilioStub(account_sid=account_sid, auth_token=secrets.token_hex(16)) as stub:
        yield stub


def settings_for(stub: TwilioStub, **overrides: object) -> TwilioSettings:
    values: dict = {
        "account_sid": stub.account_sid,
        "auth_token": stub.auth_token,
        "from_number": "+4930123456",
        "api_base": stub.url,
    }
    return TwilioSettings(**(values | overrides))


@pytest.mark.asyncio
async def test_sms_reaches_the_twilio_api_with_sender_and_text(stub: TwilioStub) -> None:
    async with SmsSender(settings_for(stub)) as sender:
        result = await sender.send(to="+4915112345678", body="Guthaben aufgebraucht")

    assert result.outcome is Outcome.DELIVERED
    [message] = stub.messages
    assert result.provider_id == message["sid"]
    assert (message["to"], message["from"], message["body"]) == (
        "+4915112345678",
        "+4930123456",
        "Guthaben aufgebraucht",
    )


@pytest.mark.asyncio
async def test_invalid_number_is_a_permanent_failure(stub: TwilioStub) -> None:
    async with SmsSender(settings_for(stub)) as sender:
        result = await sender.send(to="0151-not-a-number", body="hi")

    assert result.outcome is Outcome.FAILED
    assert result.status_code == 400
    assert "21211" in (result.error or "")
    assert stub.messages == []


@pytest.mark.asyncio
async def test_wrong_auth_token_is_a_permanent_failure(stub: TwilioStub) -> None:
    async with SmsSender(settings_for(stub, auth_token="wrong")) as sender:
        result = await sender.send(to="+4915112345678", body="hi")

    assert result.outcome is Outcome.FAILED
    assert "20003" in (result.error or "")


@pytest.mark.asyncio
async def test_twilio_outage_is_retried_and_the_retry_gets_through(stub: TwilioStub) -> None:
    stub.fail_next(503)
    async with SmsSender(settings_for(stub)) as sender:
        first = await sender.send(to="+4915112345678", body="hi")
        second = await sender.send(to="+4915112345678", body="hi")

    assert first.outcome is Outcome.RETRY and first.status_code == 503
    assert second.outcome is Outcome.DELIVERED


@pytest.mark.asyncio
async def test_slow_twilio_times_out_and_is_retried(stub: TwilioStub) -> None:
    stub.delay_s = 1.0
    async with SmsSender(settings_for(stub, timeout_s=0.2)) as sender:
        result = await sender.send(to="+4915112345678", body="hi")

    assert result.outcome is Outcome.RETRY


@pytest.mark.asyncio
async def test_unreachable_twilio_is_retried(stub: TwilioStub) -> None:
    settings = settings_for(stub)
    await stub.stop()
    async with SmsSender(settings) as sender:
        result = await sender.send(to="+4915112345678", body="hi")

    assert result.outcome is Outcome.RETRY


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (400, 21211, Outcome.FAILED),
        (401, 20003, Outcome.FAILED),
        (429, 20429, Outcome.RETRY),
        (500, 20500, Outcome.RETRY),
        (503, None, Outcome.RETRY),
        (400, 21602, Outcome.FAILED),
    ],
)
def test_twilio_errors_are_classified(status: int, code: int | None, outcome: Outcome) -> None:
    assert classify_twilio_error(status=status, code=code) is outcome
