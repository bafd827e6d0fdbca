"""Record what an attempt came to: the delivery log, the job's next step, the endpoint's health.

A webhook endpoint answering 410, or failing without a success for WEBHOOK_DISABLE_AFTER_S, is
disabled in the same transaction that records the attempt, and `webhook_endpoint.disabled` goes
out through the outbox (notify consumes it like any portal event and emails the customer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import new_id, utcnow
from contracts.portal.v1 import PortalEvent
from runtime import outbox
from runtime.db import Database
from runtime.tables import TIMESTAMPTZ, table_of
from services.notify import repository
from services.notify.channels.registry import REGISTRY
from services.notify.channels.result import DeliveryResult, Outcome
from services.notify.channels.webhook_policy import disable_reason, failing_since_after, next_attempt_delay
from services.notify.delivery import WEBHOOK
from services.notify.jobs import Job
from services.notify.tables import DeliveryAttempt, WebhookEndpoint

FINAL = {Outcome.DELIVERED: "delivered", Outcome.FAILED: "failed", Outcome.GONE: "gone"}


@dataclass(frozen=True)
class RetryPolicy:
    schedule: tuple[float, ...]  # email, SMS, push
    webhook_schedule: tuple[float, ...]
    disable_after_s: float


def next_step(job: Job, result: DeliveryResult, attempt: int, policy: RetryPolicy) -> tuple[str, float]:
    """(new status, seconds until the next attempt)."""
    if result.outcome is not Outcome.RETRY:
        return FINAL[result.outcome], 0
    if result.keep_trying:
        return "pending", float(result.retry_after_s or 0)
    schedule = policy.webhook_schedule if job.channel == WEBHOOK else policy.schedule
    delay = next_attempt_delay(schedule, attempt, retry_after_s=result.retry_after_s)
    return ("failed", 0) if delay is None else ("pending", delay)


async def record_many(
    db: Database, items: list[tuple[Job, DeliveryResult | None]], policy: RetryPolicy
) -> list[tuple[str, float]]:
    """Log the attempts and schedule what follows, in one transaction; answer per item (new status,
    seconds until the next attempt). A None result: nothing to send any more (cancelled)."""
    now = utcnow()
    steps = [_step(job, result, policy) for job, result in items]
    attempts = [_attempt_row(job, result, now) for job, result in items if result is not None]
    updates = [
        {
            "b_id": job.id,
            "b_status": status,
            "b_attempts": job.attempts + (result is not None),
            "b_next": now + timedelta(seconds=delay),
            "b_error": result.error if result else "recipient or endpoint gone",
            "b_now": now,
        }
        for (job, result), (status, delay) in zip(items, steps, strict=True)
    ]
    async with db.sessions() as session, session.begin():  # not db.transaction(): no outbox wake-up
        await repository.relaxed_commit(session)  # lost in a crash: the leased job is sent once more
        if attempts:
            await session.execute(sa.insert(table_of(DeliveryAttempt)), attempts)
        await session.execute(UPDATE_JOB, updates)
        for job, result in sorted(items, key=lambda item: item[0].target):  # lock endpoints in order
            await _side_effects(session, job, result, policy, now=now)
        announced = bool(session.info.get("outbox_staged"))
    if announced:
        db.committed_events()  # wakes the outbox relay for the webhook_endpoint.disabled event
    return steps


_replay = repository.jobs.c.replay_requested  # a replay asked for meanwhile: the next attempt is due now
UPDATE_JOB = (
    sa.update(repository.jobs)
    .where(repository.jobs.c.id == sa.bindparam("b_id"))
    .values(
        status=sa.case((_replay, "pending"), else_=sa.bindparam("b_status", type_=sa.String)),
        attempts=sa.bindparam("b_attempts"),
        next_attempt_at=sa.case(
            (_replay, sa.bindparam("b_now", type_=TIMESTAMPTZ)), else_=sa.bindparam("b_next", type_=TIMESTAMPTZ)
        ),
        replay_requested=False,
        last_error=sa.bindparam("b_error"),
        updated_at=sa.bindparam("b_now"),
    )
)


def _step(job: Job, result: DeliveryResult | None, policy: RetryPolicy) -> tuple[str, float]:
    return ("cancelled", 0) if result is None else next_step(job, result, job.attempts + 1, policy)


def _attempt_row(job: Job, result: DeliveryResult, now: datetime) -> dict:
    return {
        "id": new_id("att_")[:40],
        "job_id": job.id,
        "tenant_id": job.tenant_id,
        "channel": job.channel,
        "target": job.target,
        "webhook_id": job.webhook_id,
        "event_type": job.event_type,
        "attempt": job.attempts + 1,
        "outcome": result.outcome.value,
        "status_code": result.status_code,
        "error": result.error,
        "response_snippet": result.response_snippet,
        "duration_ms": result.duration_ms,
        "attempted_at": now,
    }


async def _side_effects(
    session: AsyncSession, job: Job, result: DeliveryResult | None, policy: RetryPolicy, *, now: datetime
) -> None:
    if result is None:
        return
    if job.channel == WEBHOOK:
        await _endpoint_health(session, job, result, now=now, disable_after_s=policy.disable_after_s)
    elif job.channel in REGISTRY and REGISTRY[job.channel].by_subscription and result.outcome is Outcome.GONE:
        await session.execute(sa.delete(repository.subscriptions).where(repository.subscriptions.c.id == job.target))
        await repository.cancel_pending(session, target=job.target, reason="subscription gone", now=now)


async def _endpoint_health(
    session: AsyncSession, job: Job, result: DeliveryResult, *, now: datetime, disable_after_s: float
) -> None:
    if result.outcome is Outcome.DELIVERED:  # the common case: no lock unless it was failing
        table = repository.endpoints
        await session.execute(
            sa.update(table)
            .where(table.c.id == job.target, table.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
        return
    endpoint = await session.get(WebhookEndpoint, job.target, with_for_update=True)
    if endpoint is None or endpoint.status != "enabled":
        return
    since = endpoint.failing_since
    reason = disable_reason(result.outcome, failing_since=since, now=now, disable_after_s=disable_after_s)
    endpoint.failing_since = failing_since_after(result.outcome, failing_since=since, now=now)
    if reason is not None:
        endpoint.status, endpoint.disabled_reason = "disabled", reason.value
        await repository.cancel_pending(session, target=endpoint.id, reason=f"endpoint disabled: {reason}", now=now)
        await outbox.add(
            session,
            [
                PortalEvent(
                    type="webhook_endpoint.disabled",
                    tenant_id=endpoint.tenant_id,
                    data={"id": endpoint.id, "url": endpoint.url, "reason": reason.value},
                )
            ],
        )
    session.add(endpoint)
