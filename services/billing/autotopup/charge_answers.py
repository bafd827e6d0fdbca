"""What payments answers for an auto top-up charge, applied once per trigger id.

Lock order: autotopup_settings → autotopup_charges (the trigger path locks the account first).
A charge's status moves only forward (requested → succeeded | failed | paused → …), so a
redelivered or duplicated outcome changes nothing and sends nothing twice.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.payments.v1 import PaymentMethodChanged, TopupExpired, TopupFailed, TopupPaid
from runtime import outbox
from runtime.db import Database
from services.billing.autotopup import store
from services.billing.domain import autotopup as rules


async def charge_paid(session: AsyncSession, *, paid: TopupPaid, trigger_id: str) -> bool:
    """The charge of `trigger_id` was paid: settle it and its rule, in the transaction that credited the
    money (`use_cases.credit_topup`, which holds the account lock: account → settings → charges)."""
    now = utcnow()
    row = await store.locked_setting(session, paid.tenant_id)
    charge = await store.locked_charge(session, trigger_id)
    if charge is None or charge.tenant_id != paid.tenant_id or charge.status == "succeeded":
        return False
    charge.status, charge.topup_id, charge.updated_at = "succeeded", paid.topup_id, now
    session.add(charge)
    if row is not None:
        store.apply_rule(row, rules.charge_succeeded(store.rule_of(row), trigger_id=trigger_id), now)
        session.add(row)
    notice = rules.Notice(
        "autotopup.succeeded", {"trigger_id": trigger_id, "topup_id": paid.topup_id, "amount_cents": paid.amount_cents}
    )
    await outbox.add(session, store.portal_events(paid.tenant_id, [notice], key=trigger_id, at=now))
    return True


async def charge_failed(*, db: Database, failed: TopupFailed, policy: store.Policy) -> bool:
    """SCA pauses with the customer's link (not a failure); anything else counts and backs off."""
    if failed.source != "auto" or not failed.trigger_id:
        return False
    now = utcnow()
    async with db.transaction() as session:
        found = await _rule_and_charge(session, failed.tenant_id, failed.trigger_id, status="requested")
        if found is None:
            return False
        row, charge = found
        sca = failed.reason_code == rules.AUTHENTICATION_REQUIRED
        charge.status, charge.failure_code = ("paused" if sca else "failed"), failed.reason_code
        charge.topup_id, charge.updated_at = failed.topup_id, now
        session.add(charge)
        rule, notices = rules.charge_failed(
            store.rule_of(row),
            trigger_id=failed.trigger_id,
            reason_code=failed.reason_code,
            action_url=failed.action_url,
            now=now,
            retry_s=policy.retry_s,
        )
        store.apply_rule(row, rule, now)
        session.add(row)
        notices = [
            rules.Notice(n.type, {**n.data, "message": failed.reason}) if n.type == "autotopup.failed" else n
            for n in notices
        ]
        await outbox.add(session, store.portal_events(failed.tenant_id, notices, key=failed.trigger_id, at=now))
    return True


async def charge_link_expired(*, db: Database, expired: TopupExpired) -> bool:
    """The SCA link of a paused charge expired: give the charge up, resume the rule (domain: link_expired)."""
    if expired.source != "auto" or not expired.trigger_id:
        return False
    now = utcnow()
    async with db.transaction() as session:
        found = await _rule_and_charge(session, expired.tenant_id, expired.trigger_id, status="paused")
        if found is None:
            return False
        row, charge = found
        charge.status, charge.updated_at = "expired", now
        session.add(charge)
        store.apply_rule(row, rules.link_expired(store.rule_of(row), trigger_id=expired.trigger_id), now)
        session.add(row)
    return True


async def _rule_and_charge(session, tenant_id: str, trigger_id: str, *, status: str):
    """The tenant's rule and its charge, both locked, when the charge is the tenant's and in `status`."""
    row = await store.locked_setting(session, tenant_id)
    charge = await store.locked_charge(session, trigger_id)
    if row is None or charge is None or charge.tenant_id != tenant_id or charge.status != status:
        return None
    return row, charge


async def payment_method_changed(*, db: Database, event: PaymentMethodChanged, policy: store.Policy) -> None:
    """Learn the default card; a new default resumes a paused rule (the paused charge is given up)."""
    now = utcnow()
    async with db.transaction() as session:
        row = await store.ensure_setting(session, event.tenant_id, policy)
        new_default = event.default_payment_method_id
        previous, row.default_payment_method_id = row.default_payment_method_id, new_default
        if new_default and new_default != previous and row.state == "paused":
            trigger = row.current_trigger_id
            store.apply_rule(row, rules.card_saved(store.rule_of(row)), now)
            charge = await store.locked_charge(session, trigger) if trigger else None
            if charge is not None and charge.status == "paused":
                charge.status, charge.updated_at = "superseded", now
                session.add(charge)
        row.updated_at = now
        session.add(row)
