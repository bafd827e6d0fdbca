"""Outgoing webhooks: signed, retried with one webhook-id, logged per attempt, disabled on 410."""

import asyncio
import json
import time

import pytest

from contracts.notify.v1 import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    ListDeliveries,
    ListWebhookEndpoints,
    ReplayDelivery,
)
from runtime.messaging import ServiceError
from tests.integration.notify.conftest import contact_known, portal_event
from tests.support.stack import eventually


async def test_an_event_reaches_a_subscribed_endpoint_signed_per_standard_webhooks(notify_stack, tenant_id):
    async with (
        notify_stack() as stack,
        stack.receiver(tenant_id, ["balance.low", "topup.succeeded"]) as (receiver, endpoint),
    ):
        assert endpoint.secret.startswith("whsec_")
        await stack.publish(portal_event(tenant_id, "balance.low", balance_cents=900, threshold_cents=1000))
        await stack.publish(portal_event(tenant_id, "balance.updated", balance_cents=900))
        await eventually(lambda: receiver.received)
        await asyncio.sleep(0.3)
        [hook] = receiver.received  # balance.updated is not subscribed
        assert hook.payload["type"] == "balance.low"
        assert hook.payload["data"] == {"balance_cents": 900, "threshold_cents": 1000}
        assert receiver.rejected == []
        listed = (await stack.ask(ListWebhookEndpoints(tenant_id=tenant_id))).items
        assert [(e.id, e.status, e.secret) for e in listed] == [(endpoint.id, "enabled", None)]


async def test_a_failing_endpoint_is_retried_with_one_webhook_id_and_each_attempt_logged(notify_stack, tenant_id):
    async with (
        notify_stack(webhook_retry_schedule="0.2,0.2,0.2") as stack,
        stack.receiver(tenant_id, ["topup.failed"]) as (receiver, endpoint),
    ):
        receiver.respond(503, body="try later")
        await stack.publish(portal_event(tenant_id, "topup.failed", topup_id="tp_9", amount_cents=5000))
        await eventually(lambda: len(receiver.received) == 4, timeout=10)
        await asyncio.sleep(0.5)
        assert len(receiver.received) == 4  # the first attempt and three retries, then it gives up
        assert len({hook.webhook_id for hook in receiver.received}) == 1
        log = (await stack.ask(ListDeliveries(tenant_id=tenant_id, endpoint_id=endpoint.id))).items
        assert sorted(item.attempt for item in log) == [1, 2, 3, 4]
        assert {(item.status_code, item.response_snippet) for item in log} == {(503, "try later")}
        assert {item.webhook_id for item in log} == {receiver.received[0].webhook_id}


async def test_replay_sends_the_same_webhook_id_as_the_next_attempt(notify_stack, tenant_id):
    async with (
        notify_stack(webhook_retry_schedule="0.1") as stack,
        stack.receiver(tenant_id, ["balance.low"]) as (receiver, endpoint),
    ):
        receiver.respond(500)
        await stack.publish(portal_event(tenant_id, "balance.low", balance_cents=1, threshold_cents=2))
        await eventually(lambda: len(receiver.received) == 2)

        async def failed_twice():
            items = (await stack.ask(ListDeliveries(tenant_id=tenant_id, endpoint_id=endpoint.id))).items
            return len(items) == 2

        await eventually(failed_twice)  # both answers sent before the receiver turns healthy
        receiver.respond(200)
        webhook_id = receiver.received[0].webhook_id
        await stack.ask(ReplayDelivery(tenant_id=tenant_id, endpoint_id=endpoint.id, webhook_id=webhook_id))
        await eventually(lambda: len(receiver.received) == 3)
        assert receiver.received[2].webhook_id == webhook_id

        async def logged():
            items = (await stack.ask(ListDeliveries(tenant_id=tenant_id, endpoint_id=endpoint.id))).items
            return len(items) == 3 and items

        items = await eventually(logged)
        assert [(i.attempt, i.status_code) for i in items] == [(3, 200), (2, 500), (1, 500)]


async def test_410_disables_the_endpoint_and_tells_the_customer(notify_stack, smtp, tenant_id):
    async with notify_stack() as stack, stack.receiver(tenant_id, ["balance.updated"]) as (receiver, endpoint):
        await stack.profile(tenant_id, email="ops@example.com")
        await contact_known(stack, tenant_id)
        receiver.respond(410)
        announced: list = []

        async def collect(msg) -> None:
            announced.append(json.loads(msg.data))

        await stack.nc.subscribe("portal.webhook_endpoint.disabled.v1", cb=collect)
        await stack.publish(portal_event(tenant_id, "balance.updated", balance_cents=5))
        await eventually(lambda: announced)
        assert announced[0]["data"] == {"id": endpoint.id, "url": endpoint.url, "reason": "gone"}
        [listed] = (await stack.ask(ListWebhookEndpoints(tenant_id=tenant_id))).items
        assert (listed.status, listed.disabled_reason) == ("disabled", "gone")
        [mail] = await smtp.wait_for(1)
        assert mail.rcpt_tos == ["ops@example.com"]
        await stack.publish(portal_event(tenant_id, "balance.updated", balance_cents=6))
        await asyncio.sleep(0.5)
        assert len(receiver.received) == 1  # a disabled endpoint receives nothing more


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://10.0.0.7/hook", "http://localhost/x", "ftp://example.com/hook"]
)
async def test_private_addresses_are_refused_unless_allowed(notify_stack, tenant_id, url):
    async with notify_stack(webhook_allow_private=False) as stack:
        with pytest.raises(ServiceError) as refused:
            await stack.ask(CreateWebhookEndpoint(tenant_id=tenant_id, url=url, events=["balance.low"]))
        assert refused.value.code == "validation_error"
        assert (await stack.ask(ListWebhookEndpoints(tenant_id=tenant_id))).items == []


async def test_a_slow_endpoint_does_not_delay_another(notify_stack, tenant_id):
    async with (
        notify_stack(notify_concurrency_per_endpoint=2) as stack,
        stack.receiver(tenant_id, ["balance.updated"]) as (slow, _),
        stack.receiver(tenant_id, ["balance.updated"]) as (fast, _),
    ):
        slow.respond(200, delay_s=5)
        for i in range(10):  # more than the slow endpoint may have in flight
            await stack.publish(portal_event(tenant_id, "balance.updated", balance_cents=i))
        await eventually(lambda: len(slow.received) == 2 and len(fast.received) == 10)
        started = time.monotonic()
        await stack.publish(portal_event(tenant_id, "balance.updated", balance_cents=99))
        await eventually(lambda: any(h.payload["data"]["balance_cents"] == 99 for h in fast.received), timeout=5)
        assert time.monotonic() - started < 1.0


async def test_another_tenants_endpoint_is_not_found(notify_stack, tenant_id):
    async with notify_stack() as stack:
        endpoint = await stack.endpoint(tenant_id, "http://127.0.0.1:9/hook", ["balance.low"])
        for req in (
            DeleteWebhookEndpoint(tenant_id="ten_other", endpoint_id=endpoint.id),
            ListDeliveries(tenant_id="ten_other", endpoint_id=endpoint.id),
        ):
            with pytest.raises(ServiceError) as refused:
                await stack.ask(req)
            assert refused.value.code == "not_found"
