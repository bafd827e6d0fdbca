"""GET / PUT /v1/auto-topup (rpc.billing.autotopup.*): the settings plus what the rule is doing."""

from __future__ import annotations

from contracts.base import utcnow
from contracts.billing.v1 import AutoTopupView, UpdateAutoTopup
from runtime.db import Database
from runtime.refusals import Conflict, Invalid
from services.billing import repository
from services.billing.autotopup import store
from services.billing.autotopup.tables import AutoTopupSetting
from services.billing.autotopup.trigger import evaluate
from services.billing.domain import autotopup as rules


def view_of(row: AutoTopupSetting) -> AutoTopupView:
    rule = store.rule_of(row)
    return AutoTopupView(
        enabled=rule.enabled,
        threshold_cents=rule.threshold_cents,
        amount_cents=rule.amount_cents,
        monthly_limit_cents=rule.monthly_limit_cents,
        state=rules.view_state(rule),
        consecutive_failures=rule.consecutive_failures,
        disabled_reason=rule.disabled_reason,
        last_triggered_at=rule.last_triggered_at,
        action_url=rule.action_url,
    )


async def get_settings(*, db: Database, tenant_id: str, policy: store.Policy) -> AutoTopupView:
    async with db.sessions() as session:
        row = await session.get(AutoTopupSetting, tenant_id)
    return view_of(row or store.new_setting(tenant_id, policy, utcnow()))


async def update_settings(*, db: Database, req: UpdateAutoTopup, policy: store.Policy) -> AutoTopupView:
    """Validate, save, and decide at once (a rule enabled below its threshold, or a raised limit,
    charges now rather than at the next debit or sweep)."""
    error = rules.validation_error(
        threshold_cents=req.threshold_cents,
        amount_cents=req.amount_cents,
        monthly_limit_cents=req.monthly_limit_cents,
        enabled=req.enabled,
        min_cents=policy.min_cents,
        max_cents=policy.max_cents,
    )
    if error:
        raise Invalid(error)
    now = utcnow()
    async with db.transaction() as session:
        states = await repository.lock_accounts(
            session, [req.tenant_id], now=now, default_threshold=policy.default_threshold_cents
        )
        row = await store.ensure_setting(session, req.tenant_id, policy)
        if req.enabled and not row.default_payment_method_id:
            raise Conflict("auto top-up needs a default card: save a card first")
        rule = rules.reconfigure(
            store.rule_of(row),
            enabled=req.enabled,
            threshold_cents=req.threshold_cents,
            amount_cents=req.amount_cents,
            monthly_limit_cents=req.monthly_limit_cents,
        )
        store.apply_rule(row, rule, now)
        session.add(row)
        await session.flush()
        await evaluate(
            session, req.tenant_id, balance_cents=states[req.tenant_id].balance_cents, policy=policy, now=now
        )
        return view_of(row)
