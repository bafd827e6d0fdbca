"""Auto top-up's subscriptions, RPCs, monitor job and policy: one call each from handlers.py / app.py."""

from __future__ import annotations

from contracts.billing.v1 import GetAutoTopup, UpdateAutoTopup
from contracts.payments.v1 import PaymentMethodChanged, TopupExpired, TopupFailed, TopupPaid
from runtime.db import Database
from runtime.handlers import event_consumer, rpc
from services.billing.autotopup import outcomes, settings_api
from services.billing.autotopup.monitor import monitor_job
from services.billing.autotopup.store import Policy
from services.billing.domain.bonus import parse_tiers


def configure(db: Database, settings) -> Policy:
    """Carry the policy on the database's sessions, where the debit hook in `post_entries` reads it."""
    policy = Policy.from_settings(settings)
    db.sessions.configure(info={"autotopup_policy": policy})
    return policy


def register(broker, consumers: list, *, db: Database, settings) -> None:
    policy = Policy.from_settings(settings)
    tiers = parse_tiers(settings.topup_bonus_tiers)
    threshold = settings.low_balance_threshold_cents

    @event_consumer(consumers, TopupPaid, durable="billing-autotopup-paid")
    async def on_autotopup_paid(events: list[TopupPaid]) -> None:
        for paid in events:
            await outcomes.charge_paid(db=db, paid=paid, tiers=tiers, default_threshold=threshold)

    @event_consumer(consumers, TopupFailed, durable="billing-autotopup-failed")
    async def on_autotopup_failed(events: list[TopupFailed]) -> None:
        for failed in events:
            await outcomes.charge_failed(db=db, failed=failed, policy=policy)

    @event_consumer(consumers, TopupExpired, durable="billing-autotopup-expired")
    async def on_autotopup_link_expired(events: list[TopupExpired]) -> None:
        for expired in events:
            await outcomes.charge_link_expired(db=db, expired=expired)

    @event_consumer(consumers, PaymentMethodChanged, durable="billing-autotopup-cards")
    async def on_payment_method_changed(events: list[PaymentMethodChanged]) -> None:
        for event in events:
            await outcomes.payment_method_changed(db=db, event=event, policy=policy)

    @rpc(broker, GetAutoTopup, queue="billing")
    async def on_get_autotopup(req: GetAutoTopup):
        return await settings_api.get_settings(db=db, tenant_id=req.tenant_id, policy=policy)

    @rpc(broker, UpdateAutoTopup, queue="billing")
    async def on_update_autotopup(req: UpdateAutoTopup):
        return await settings_api.update_settings(db=db, req=req, policy=policy)


def job(db: Database, settings):
    return monitor_job(db, Policy.from_settings(settings), settings.autotopup_monitor_s)
