"""Per tenant and event type, the customer chooses the channels; `[]` switches any type off."""

import asyncio

import pytest

from contracts.notify.v1 import GetPreferences, UpdatePreferences
from contracts.portal.v1 import EVENT_TYPES
from runtime.messaging import ServiceError
from tests.integration.notify.conftest import contact_known, portal_event


async def test_defaults_are_the_documented_ones(notify_stack, tenant_id):
    async with notify_stack() as stack:
        prefs = (await stack.ask(GetPreferences(tenant_id=tenant_id))).preferences
    assert prefs == {
        "document.issued": ["email"],
        "topup.succeeded": ["push"],
        "topup.failed": ["email", "push"],
        "balance.low": ["email", "push"],
        "balance.depleted": ["email", "sms", "push"],
        "autotopup.failed": ["email"],
        "autotopup.paused": ["email", "sms"],
        "autotopup.disabled": ["email", "sms"],
        "webhook_endpoint.disabled": ["email"],
        "credits.expiring": ["email"],
        "credits.expired": ["email"],
        # every other SSE event type is a key too, switched off unless the customer chooses a channel
        "balance.updated": [],
        "transaction.created": [],
        "autotopup.triggered": [],
        "autotopup.succeeded": [],
    }


async def test_every_sse_event_type_is_a_valid_key_and_an_empty_list_switches_it_off(notify_stack, tenant_id):
    every_type = {event_type: [] for event_type in EVENT_TYPES}
    async with notify_stack() as stack:
        answer = await stack.ask(
            UpdatePreferences(tenant_id=tenant_id, preferences={"transaction.created": [], "balance.updated": []})
        )
        assert answer.preferences["transaction.created"] == answer.preferences["balance.updated"] == []
        switched_off = await stack.ask(UpdatePreferences(tenant_id=tenant_id, preferences=every_type))
    assert {t: switched_off.preferences[t] for t in every_type} == every_type


async def test_the_auto_top_up_progress_events_can_be_chosen_for_any_channel(notify_stack, tenant_id):
    async with notify_stack() as stack:
        answer = await stack.ask(
            UpdatePreferences(
                tenant_id=tenant_id,
                preferences={"autotopup.triggered": ["push"], "autotopup.succeeded": ["email", "sms", "push"]},
            )
        )
    assert answer.preferences["autotopup.triggered"] == ["push"]
    assert answer.preferences["autotopup.succeeded"] == ["email", "sms", "push"]


@pytest.mark.parametrize("event_type", ["balance.updated", "transaction.created"])
async def test_a_channel_for_a_per_transaction_event_is_refused_with_the_reason(notify_stack, tenant_id, event_type):
    async with notify_stack() as stack:
        with pytest.raises(ServiceError) as refused:
            await stack.ask(UpdatePreferences(tenant_id=tenant_id, preferences={event_type: ["email"]}))
    assert refused.value.code == "validation_error"
    assert "every" in refused.value.message and "webhook" in refused.value.message


CRITICAL_EVENTS = {
    "topup.failed": {"topup_id": "top_1", "amount_cents": 5000, "reason": "card_declined"},
    "balance.depleted": {"balance_cents": 0, "threshold_cents": 0},
    "autotopup.disabled": {"reason": "card removed", "reason_code": "card_removed"},
}


@pytest.mark.parametrize("event_type", sorted(CRITICAL_EVENTS))
async def test_a_critical_type_can_be_switched_off_and_then_sends_nothing(
    notify_stack, smtp, twilio, tenant_id, event_type
):
    """API.md: every SSE event type is a valid key and `[]` switches it off, the critical ones too
    (the portal marks them as recommended)."""
    async with notify_stack() as stack:
        answer = await stack.ask(
            UpdatePreferences(tenant_id=tenant_id, preferences={event_type: [], "document.issued": ["sms"]})
        )
        assert answer.preferences[event_type] == []
        await stack.profile(tenant_id, phone="+4915100000002")
        await contact_known(stack, tenant_id)
        await stack.publish(portal_event(tenant_id, event_type, **CRITICAL_EVENTS[event_type]))
        # a control event after it, on a channel that is on: once it is sent, the other was handled
        await stack.publish(portal_event(tenant_id, "document.issued", id="doc_1", kind="invoice", number="R-1"))
        for _ in range(100):
            if twilio.messages:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    assert len(twilio.messages) == 1 and "R-1" in twilio.messages[0]["body"]
    assert smtp.messages == []


@pytest.mark.parametrize(
    "change",
    [
        {"balance.exploded": ["email"]},  # unknown event type
        {"balance.low": ["pigeon"]},  # unknown channel
        {"balance.updated": ["email"]},  # per-transaction types: no channels (docs/architecture.md)
    ],
)
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
        await stack.publish(
            portal_event(tenant_id, "autotopup.paused", trigger_id="atp_1", action_url="https://example.com/auth")
        )
        for _ in range(100):
            if twilio.messages:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    assert [m["to"] for m in twilio.messages] == ["+4915100000001"]
    assert smtp.messages == []
