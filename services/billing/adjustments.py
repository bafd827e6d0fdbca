"""Operator adjustments (the admin API): a signed `adjustment` posting with the reason as its description.

Recorded once per (tenant, idempotency key) in one transaction with its ledger posting and events. The
tenant's account row is locked first, so concurrent requests with one key queue on it and every one
after the first finds the recorded adjustment; the unique (tenant, key) is the backstop.
"""

from __future__ import annotations

import sqlalchemy as sa

from contracts.base import new_id, utcnow
from contracts.billing.v1 import AdjustmentReply, AdjustmentView, CreateAdjustment
from runtime.refusals import IdempotencyConflict, Invalid, NotFound
from runtime.tables import table_of
from services.billing.deps import BillingDeps
from services.billing.domain import adjustments as rules
from services.billing.domain.ledger import Posting
from services.billing.tables import Account, Adjustment
from services.billing.use_cases import Entry, post_entries

adjustments = table_of(Adjustment)


def _view(adjustment: Adjustment) -> AdjustmentView:
    return AdjustmentView(
        id=adjustment.id,
        transaction_id=adjustment.transaction_id,
        amount_cents=adjustment.amount_cents,
        reason=adjustment.reason,
        created_at=adjustment.created_at,
    )


async def record_adjustment(*, deps: BillingDeps, req: CreateAdjustment) -> AdjustmentReply:
    try:
        rules.check_amount(req.amount_cents)
        reason = rules.checked_reason(req.reason)
    except rules.InvalidAdjustment as exc:
        raise Invalid(str(exc)) from exc
    async with deps.db.transaction() as session:
        account = await session.get(Account, req.tenant_id, with_for_update=True)
        if account is None:
            raise NotFound("tenant not found")
        same_key = sa.select(Adjustment).where(
            adjustments.c.tenant_id == req.tenant_id, adjustments.c.idempotency_key == req.idempotency_key
        )
        existing = (await session.execute(same_key)).scalar_one_or_none()
        if existing is not None:  # the same request again: the first result, whatever the balance now
            try:
                rules.check_same_request(
                    stored_amount_cents=existing.amount_cents,
                    stored_reason=existing.reason,
                    amount_cents=req.amount_cents,
                    reason=reason,
                )
            except rules.NotTheSameRequest as exc:
                raise IdempotencyConflict(str(exc)) from exc
            return AdjustmentReply(adjustment=_view(existing), created=False)
        adjustment_id = new_id("adj_")[:40]
        posting = Posting("adjustment", req.amount_cents, f"adjustment:{adjustment_id}", reason, adjustment_id)
        posted = await post_entries(session, [Entry(req.tenant_id, posting)], deps=deps)
        adjustment = Adjustment(
            id=adjustment_id,
            tenant_id=req.tenant_id,
            idempotency_key=req.idempotency_key,
            amount_cents=req.amount_cents,
            reason=reason,
            transaction_id=posted[0].tx_id,
            created_at=utcnow(),
        )
        session.add(adjustment)
        return AdjustmentReply(adjustment=_view(adjustment), created=True)
