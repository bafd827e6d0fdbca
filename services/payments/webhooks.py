"""Stripe webhooks: verify and store durably (then answer), process afterwards exactly once.

Ingest inserts the verified event under its Stripe id (a duplicate changes nothing) and commits
before the reply, so an acknowledged event survives a crash. Workers claim due events with
SKIP LOCKED (replicas never process one event twice at once) and apply each in the transaction
that marks it processed.

A failure is retried with exponential backoff (capped at `retry_max_s`). What can pass — Stripe's
API unavailable or refusing our key, the database or NATS away (`runtime.failures`) — is retried
until it succeeds, however long that takes: a refund is never lost to an outage. Only an unexpected
error (a bug) is parked after `max_attempts`, with its error, and a later delivery of the same event
from Stripe re-arms it; the reconciler heals what a parked event would have done.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
import structlog

from contracts.base import utcnow
from contracts.payments.v1 import StripeWebhookReply
from runtime.aio import wait_set
from runtime.db import Database
from runtime.failures import classify
from runtime.tables import table_of
from services.payments import reconcile, repository
from services.payments.stripe.client import StripeAdapter, verify_webhook
from services.payments.stripe.errors import WebhookVerificationFailed
from services.payments.tables import StripeEvent

log = structlog.get_logger(__name__)


class InvalidWebhook(ValueError):
    """Bad signature, stale timestamp or not an event: the gateway answers 400."""


async def ingest_webhook(
    *, db: Database, payload: str, signature: str, secret: str, tolerance_s: int
) -> StripeWebhookReply:
    try:
        event = verify_webhook(payload.encode(), signature, secret, tolerance_s)
    except WebhookVerificationFailed as exc:
        raise InvalidWebhook(exc.message) from exc
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise InvalidWebhook("the event has no id")
    now = utcnow()
    row = {"id": event["id"], "type": event["type"], "payload": payload, "received_at": now, "next_attempt_at": now}
    async with db.transaction() as session:
        stored = await repository.insert_new(session, table_of(StripeEvent), row)
        if not stored:  # Stripe delivers it again: a parked copy gets another chance (once fixed)
            await session.execute(
                sa.update(StripeEvent)
                .where(
                    StripeEvent.id == event["id"],
                    StripeEvent.processed_at.is_(None),
                    StripeEvent.next_attempt_at.is_(None),
                )
                .values(next_attempt_at=now)
            )
    return StripeWebhookReply(accepted=True, duplicate=not stored)


@dataclass
class WebhookWorkers:
    db: Database
    adapter: StripeAdapter
    portal_url: Callable[[str, str], str]
    workers: int = 4
    poll_s: float = 1.0
    max_attempts: int = 8  # unexpected errors only: what can pass is retried until it succeeds
    retry_max_s: float = 300.0

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await asyncio.gather(*(self._loop() for _ in range(self.workers)))

    async def _loop(self) -> None:
        while True:
            # Cleared before looking, not after: an event accepted while this round runs keeps the
            # wake-up set, so it is processed at once instead of after `poll_s`.
            self._wake.clear()
            try:
                while await self.process_next():
                    pass
            except Exception as exc:  # the database is away: try again at the next poll
                log.warning("stripe_events.worker_failed", error=repr(exc))
            await wait_set(self._wake, self.poll_s)

    async def process_next(self) -> bool:
        """Process one due event; False when none is due."""
        event_id = None
        try:
            async with self.db.transaction() as session:
                stored = await repository.claim_due_event(session, now=utcnow())
                if stored is None:
                    return False
                event_id = stored.id
                await reconcile.apply_event(
                    session, self.adapter, json.loads(stored.payload), portal_url=self.portal_url
                )
                stored.processed_at, stored.next_attempt_at = utcnow(), None
                stored.attempts += 1
                session.add(stored)
        except Exception as exc:
            if event_id is None:
                raise
            await self._postpone(event_id, exc)
        return True

    async def _postpone(self, event_id: str, exc: Exception) -> None:
        async with self.db.transaction() as session:
            stored = await session.get(StripeEvent, event_id)
            if stored is None or stored.processed_at is not None:
                return
            stored.attempts += 1
            stored.last_error = repr(exc)[:2000]
            kind = classify(exc)
            parked = kind == "permanent" or (kind == "unexpected" and stored.attempts >= self.max_attempts)
            delay = min(2 ** min(stored.attempts, 20), self.retry_max_s)
            stored.next_attempt_at = None if parked else utcnow() + timedelta(seconds=delay)
            session.add(stored)
        log_event = log.error if parked else log.warning
        log_event(
            "stripe_event.failed",
            event_id=event_id,
            attempts=stored.attempts,
            kind=kind,
            parked=parked,
            retry_in_s=None if parked else delay,
            error=repr(exc),
        )
