"""Push delivery goes through the SSRF guard webhooks use.

A push subscription's endpoint is a URL the customer's browser hands us, so anyone can register one
that points into our network. Before the fix pywebpush posted to it with a plain aiohttp session:
internal addresses were reached, redirects followed, the host name resolved again at connect time
(DNS rebinding) and the answer read to its end however long it was.
"""

import asyncio
import ipaddress

import pytest
import pytest_asyncio
from aiohttp import web

from devtools.http_peer import HttpPeer
from services.notify.channels import ssrf
from services.notify.channels.push import (
    PushSender,
    PushSubscription,
    VapidSettings,
    application_server_key,
    generate_vapid_private_key,
    load_vapid_key,
)
from services.notify.channels.result import Outcome
from tests.support.push_endpoint import PushEndpoint

SUBJECT = "mailto:billing@example.test"


class Trap(HttpPeer):
    """An "internal service" that answers a push with a redirect, or with a body that never ends."""

    def __init__(self, *, redirect_to: str | None = None) -> None:
        super().__init__()
        self.redirect_to = redirect_to
        self.hits = 0

    def routes(self):
        return [web.post("/{tail:.*}", self.answer)]

    async def answer(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        await request.read()
        if self.redirect_to:
            raise web.HTTPTemporaryRedirect(self.redirect_to)
        response = web.StreamResponse(status=201)
        await response.prepare(request)
        while True:  # 1 MiB after 1 MiB, for ever
            await response.write(b"x" * 1_048_576)
            await asyncio.sleep(0)


@pytest.fixture
def vapid_key() -> str:
    return generate_vapid_private_key()


@pytest_asyncio.fixture
async def push_service(vapid_key):
    async with PushEndpoint(vapid_public_key=application_server_key(load_vapid_key(vapid_key))) as endpoint:
        yield endpoint


def sender(vapid_key: str, **guard) -> PushSender:
    return PushSender(VapidSettings(vapid_key, SUBJECT, timeout_s=3), **guard)


async def test_a_push_endpoint_on_an_internal_address_is_refused(push_service, vapid_key):
    push_service.host = "localhost"  # the push service listens on 127.0.0.1
    subscription = PushSubscription.from_json(push_service.subscribe())

    result = await sender(vapid_key).send(subscription, {"title": "hi"})

    assert result.outcome is Outcome.FAILED and "refused" in result.error
    assert "127.0.0.1" not in result.error  # resolved internal addresses are not echoed back
    assert push_service.received == []


async def test_a_redirect_from_the_push_service_is_not_followed(push_service, vapid_key):
    async with Trap(redirect_to=push_service.subscribe()["endpoint"]) as trap:
        subscription = PushSubscription.from_json({**push_service.subscribe(), "endpoint": f"{trap.url}/push/x"})
        result = await sender(vapid_key, allow_private=True).send(subscription, {"title": "hi"})
    assert trap.hits == 1 and push_service.received == [] and not push_service.refused  # never contacted
    assert result.outcome is not Outcome.DELIVERED and result.status_code == 307


async def test_the_address_checked_is_the_address_connected(push_service, vapid_key, monkeypatch):
    answers: list[str] = []

    async def resolve(host, port):  # a name whose DNS answer this test decides: one lookup per connection
        answers.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    push_service.host = "push.rebind.test"
    subscription = PushSubscription.from_json(push_service.subscribe())

    result = await sender(vapid_key, allow_private=True).send(subscription, {"title": "hi"})

    assert result.outcome is Outcome.DELIVERED and answers == ["push.rebind.test"]


async def test_an_endless_answer_is_not_read_to_its_end(vapid_key, push_service):
    async with Trap() as trap:
        subscription = PushSubscription.from_json({**push_service.subscribe(), "endpoint": f"{trap.url}/push/x"})
        started = asyncio.get_running_loop().time()
        result = await sender(vapid_key, allow_private=True).send(subscription, {"title": "hi"})
    assert result.outcome is Outcome.DELIVERED and result.status_code == 201
    assert asyncio.get_running_loop().time() - started < 2


@pytest.mark.parametrize("address", ["2002:7f00:1::1", "2002:a00:1::1", "fec0::1", "64:ff9b::7f00:1"])
def test_addresses_that_lead_back_inside_are_not_public(address):
    assert not ssrf.is_public_address(ipaddress.ip_address(address))


def test_a_refusal_does_not_name_the_internal_address():
    with pytest.raises(ssrf.UnsafeDestination) as refused:
        ssrf.refuse_internal("hooks.example", [ipaddress.ip_address("10.1.2.3")])
    assert "10.1.2.3" not in str(refused.value)
