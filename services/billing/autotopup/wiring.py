"""Auto top-up's subscriptions, RPCs and monitor job: one call each from handlers.py / app.py.

A paid charge has no consumer of its own: `use_cases.credit_topup` credits every TopupPaid and, for an
auto top-up's, settles the rule in the same transaction (durable billing-topup-paid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts.billing.v1 import GetAutoTopup, UpdateAutoTopup
from contracts.payments.v1 import PaymentMethodChanged, TopupExpired, TopupFailed
from runtime.handlers import event_consumer, rpc
from services.billing.autotopup import charge_answers, settings_api
from services.billing.autotopup.monitor import monitor_job

if TYPE_CHECKING:
    from services.billing.deps import BillingDeps


def register(broker, consumers: list, *, deps: BillingDeps) -> None:
    db, policy = deps.db, deps.autotopup

    @event_consumer(consumers, TopupFailed, durable="billing-autotopup-failed")
    async def on_autotopup_failed(events: list[TopupFailed]) -> None:
        for failed in events:
            await charge_answers.charge_failed(db=db, failed=failed, policy=policy)

    @event_consumer(consumers, TopupExpired, durable="billing-autotopup-expired")
    async def on_autotopup_link_expired(events: list[TopupExpired]) -> None:
        for expired in events:
            await charge_answers.charge_link_expired(db=db, expired=expired)

    @event_consumer(consumers, PaymentMethodChanged, durable="billing-autotopup-cards")
    async def on_payment_method_changed(events: list[PaymentMethodChanged]) -> None:
        for event in events:
            await charge_answers.payment_method_changed(db=db, event=event, policy=policy)

    @rpc(broker, GetAutoTopup, queue="billing")
    async def on_get_autotopup(req: GetAutoTopup):
        return await settings_api.get_settings(db=db, tenant_id=req.tenant_id, policy=policy)

    @rpc(broker, UpdateAutoTopup, queue="billing")
    async def on_update_autotopup(req: UpdateAutoTopup):
        return await settings_api.update_settings(db=db, req=req, policy=policy)


def job(deps: BillingDeps, interval_s: float):
    return monitor_job(deps.db, deps.autotopup, interval_s)
