"""Move a locked top-up to what Stripe says happened, emitting each fact once (state machine guards)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from runtime import outbox
from runtime.tables import table_of
from services.payments import events, repository
from services.payments.domain import topups as rules
from services.payments.stripe.models import Card
from services.payments.tables import Refund, Topup


def _at(epoch: object) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC) if isinstance(epoch, int | float) else utcnow()


def _id(value: object) -> str | None:
    return value.get("id") if isinstance(value, dict) else value  # type: ignore[return-value]


async def settle_paid(
    session: AsyncSession,
    topup: Topup,
    *,
    intent: dict[str, Any],
    correlation_id: str | None = None,
    card: Card | None = None,
) -> bool:
    """A succeeded PaymentIntent credits its top-up once: TopupPaid goes out with the state change,
    naming the card it was paid with when known (the invoice shows its last digits)."""
    if not rules.can_succeed(topup.status):
        return False
    topup.status, topup.payment_intent_id = "succeeded", intent["id"]
    if card is not None:
        topup.card_last4, topup.card_brand = card.last4 or None, card.brand
    topup.charge_id = _id(intent.get("latest_charge")) or topup.charge_id
    topup.failure_code = topup.failure_reason = None
    topup.updated_at = utcnow()
    session.add(topup)
    await session.flush()
    paid = events.topup_paid(topup, paid_at=_at(intent.get("created")), correlation_id=correlation_id)
    await outbox.add(session, [paid])
    return True


async def settle_failed(
    session: AsyncSession,
    topup: Topup,
    *,
    code: str,
    reason: str | None,
    payment_intent_id: str | None = None,
    action_url: str | None = None,
    correlation_id: str | None = None,
) -> bool:
    if not rules.can_fail(topup.status):
        return False
    topup.status, topup.failure_code = "failed", code
    topup.failure_reason = rules.human_reason(code, reason)
    topup.payment_intent_id = payment_intent_id or topup.payment_intent_id
    if action_url:
        topup.checkout_url = action_url
    topup.updated_at = utcnow()
    session.add(topup)
    await session.flush()
    await outbox.add(session, events.topup_failed(topup, action_url=action_url, correlation_id=correlation_id))
    return True


async def settle_expired(session: AsyncSession, topup: Topup, *, correlation_id: str | None = None) -> bool:
    if not rules.can_expire(topup.status):
        return False
    topup.status, topup.checkout_url, topup.updated_at = "expired", None, utcnow()
    topup.failure_code = topup.failure_code or "expired"
    topup.failure_reason = topup.failure_reason or rules.human_reason("expired", None)
    session.add(topup)
    await session.flush()
    await outbox.add(session, [events.topup_expired(topup, correlation_id=correlation_id)])
    return True


async def settle_refunds(
    session: AsyncSession, topup: Topup, refunds: list[dict[str, Any]], correlation_id: str | None = None
) -> int:
    """Record each succeeded refund once (by Stripe's refund id, whoever sees it first: the webhook, the
    admin API that created it, the reconciler); answer how many were new. An operator's request it
    answers (`metadata.refund_request_id`) is marked succeeded, or failed, in the same transaction."""
    out = []
    for refund in refunds:
        request_id = (refund.get("metadata") or {}).get("refund_request_id")
        if refund.get("status") in ("failed", "canceled"):  # the money stays paid: release the request's hold
            await repository.answer_refund_request(
                session, refund_id=refund["id"], request_id=request_id, status="failed"
            )
        if refund.get("status") != "succeeded":
            continue
        at = _at(refund.get("created"))
        row = {
            "id": refund["id"],
            "topup_id": topup.id,
            "amount_cents": int(refund["amount"]),
            "refunded_at": at,
            "request_id": request_id,
        }
        await repository.answer_refund_request(
            session, refund_id=refund["id"], request_id=request_id, status="succeeded"
        )
        if await repository.insert_new(session, table_of(Refund), row):
            out.append(
                events.payment_refunded(
                    topup,
                    refund_id=refund["id"],
                    amount_cents=row["amount_cents"],
                    refunded_at=at,
                    correlation_id=correlation_id,
                )
            )
    if out:
        topup.refunded_cents = (await repository.refunded_so_far(session, [topup.id]))[topup.id].recorded_cents
        topup.status = rules.status_after_refunds(
            status=topup.status, amount_cents=topup.amount_cents, refunded_cents=topup.refunded_cents
        )
        topup.updated_at = utcnow()
        session.add(topup)
        await session.flush()
        await outbox.add(session, out)
    return len(out)
