"""Per tenant and event type, the customer chooses the channels; critical events keep one."""

import asyncio

import pytest

from contracts.notify.v1 import GetPreferences, UpdatePreferences
from runtime.messaging import ServiceError
from tests.integration.notify.conftest import contact_known, portal_event


async def test_defaults_are_the_documented_ones(notify_stack, tenant_id):
    async with notify_stack() as stack:
        prefs = (await stack.ask(GetPreferences(tenant_id=tenant_id))).preferences
    assert prefs == {
        "document.issued": ["email"], "topup.succeeded": ["push"], "topup.failed": ["email", "push"],
        "balance.low": ["email", "push"], "balance.depleted": ["email", "sms", "push"],
        "autotopup.failed": ["email"], "autotopup.paused": ["email", "sms"],
        "autotopup.disabled": ["email", "sms"], "webhook_endpoint.disabled": ["email"],
    }


async def test_a_put_merges_and_answers_the_whole_map(notify_stack, tenant_id):
    async with notify_stack() as stack:
        first = await stack.ask(UpdatePreferences(tenant_id=tenant_id, preferences={"balance.low": ["sms"]}))
        second = await stack.ask(UpdatePreferences(tenant_id=tenant_id, preferences={
            "topup.succeeded": [], "balance.depleted": ["push", "email"]}))
        stored = (await stack.ask(GetPreferences(tenant_id=tenant_id))).preferences
    assert first.preferences["balance.low"] == ["sms"]
    assert second.preferences == stored
    assert stored["balance.low"] == ["sms"]  # kept from the first PUT
    assert stored["topup.succeeded"] == []
    assert stored["balance.depleted"] == ["email", "push"]
    assert stored["document.issued"] == ["email"]


@pytest.mark.parametrize("change", [
    {"balance.exploded": ["email"]},  # unknown event type
    {"balance.low": ["pigeon"]},  # unknown channel
    {"balance.depleted": []},  # critical: cannot be switched off entirely
    {"topup.failed": []},
    {"autotopup.disabled": []},
])
async def test_invalid_changes_are_refused_and_change_nothing(notify_stack, tenant_id, change):
    async with notify_stack() as stack:
        with pytest.raises(ServiceError) as refused:
            await stack.ask(UpdatePreferences(tenant_id=tenant_id, preferences={"balance.low": [], **change}))
        assert refused.value.code == "validation_error"
        prefs = (await stack.ask(GetPreferences(tenant_id=tenant_id))).preferences
    assert prefs["balance.low"] == ["email", "push"]


async def test_a_channel_switched_off_is_not_used(notify_stack, smtp, twilio, tenant_id):
    async with notify_stack() as stack:
        await stack.ask(UpdatePreferences(tenant_id=tenant_id, preferences={"autotopup.paused": ["sms"]}))
        await stack.profile(tenant_id, phone="+4915100000001")
        await contact_known(stack, tenant_id)
        await stack.publish(portal_event(tenant_id, "autotopup.paused", action_url="https://example.com/auth"))
        for _ in range(100):
            if twilio.messages:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    assert [m["to"] for m in twilio.messages] == ["+4915100000001"]
    assert smtp.messages == []
