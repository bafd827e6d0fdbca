"""The channels a customer picks are one list (contracts.notify.v1.Channel), each registered once."""

from contracts.notify.v1 import CHANNELS
from services.notify.channels.registry import REGISTRY
from services.notify.channels.templates import normalize_locale
from services.notify.config import NotifySettings
from services.notify.jobs import Audience
from services.notify.tables import Contact


def test_every_channel_of_the_contract_is_registered_once_and_nothing_else():
    assert tuple(REGISTRY) == CHANNELS
    assert all(REGISTRY[name].name == name for name in CHANNELS)


def test_per_channel_limits_cover_every_registered_channel_and_webhooks():
    limits = NotifySettings(notify_concurrency={"email": 3}).channel_limits
    defaults = {name: channel.default_concurrency for name, channel in REGISTRY.items()}
    assert limits == {**defaults, "email": 3, "webhook": 200}


def test_a_channel_plans_no_job_for_a_tenant_it_cannot_reach():
    contact = Contact(tenant_id="t1", email="a@example.com", phone=None, locale=normalize_locale("de"))
    audience = Audience(contact=contact, overrides={}, subscriptions=["ps_1", "ps_2"], endpoints=[])
    assert {name: REGISTRY[name].targets(audience) for name in ("email", "sms", "push")} == {
        "email": [""],
        "sms": [],
        "push": ["ps_1", "ps_2"],
    }
