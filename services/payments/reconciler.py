"""The reconciler: Stripe, payments, the ledger and the documents compared, and what is missing healed.

Every RECONCILE_INTERVAL_S (the first run within a minute of start-up; one replica per period, by a
period claim in payments' database) it looks at the last RECONCILE_LOOKBACK_S, leaving alone what is
younger than RECONCILE_GRACE_S (webhooks and events still on their way):

1. Stripe's PaymentIntents of our top-ups (our customers', with metadata `topup_id`): a succeeded
   one whose top-up is not `succeeded` here is settled — `payment_not_settled` (a lost webhook).
2. Stripe's refunds of those payments: a succeeded one payments never recorded is recorded —
   `refund_not_recorded` (a lost or parked `charge.refunded`, a refund stuck `pending` here); a failed
   one an operator's request still waits on releases the amount it holds — `refund_request_not_answered`.
3. The ledger (rpc.billing.reconcile.v1): a succeeded top-up it never credited gets its TopupPaid
   again — `payment_not_credited`; a recorded refund it never debited gets its PaymentRefunded again —
   `refund_not_in_ledger`.
4. The documents (rpc.documents.reconcile.v1): a credited top-up without invoice, a recorded refund
   without credit note is issued — `invoice_missing`, `credit_note_missing`.

Healing goes through the normal path's idempotency keys (the top-up id for a credit, the refund id
for a refund and its credit note), so a webhook or event arriving late afterwards changes nothing,
and two reconcilers racing heal once. Every discrepancy counts in
`reconciliation_discrepancies_total{kind}` and is logged; the run's report is kept and answered by
`GET /admin/v1/reconciliation`.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter

from contracts.base import utcnow
from contracts.billing.v1 import ReconcileLedger
from contracts.documents.v1 import CreditedTopup, ReconcileDocuments, RecordedRefund
from contracts.payments.v1 import Discrepancy, ReconciliationReport
from runtime import outbox
from runtime.db import Database
from runtime.inbox import claim_period
from runtime.messaging import ServiceError, request
from services.payments import cards, events, repository, settlement
from services.payments.stripe.client import StripeAdapter
from services.payments.tables import ReconciliationRun, Refund, Topup

log = structlog.get_logger(__name__)
DISCREPANCIES = Counter("reconciliation_discrepancies_total", "Discrepancies found by the reconciler", ["kind"])
CHUNK = 200  # ids per request to billing or documents


@dataclass(frozen=True)
class Window:
    since: datetime  # what is older than the lookback was reconciled by earlier runs
    until: datetime  # what is younger than the grace period is still on its way


@dataclass
class Run:
    started_at: datetime = field(default_factory=utcnow)
    checked: dict[str, int] = field(default_factory=lambda: {"payments": 0, "refunds": 0, "credits": 0, "documents": 0})
    discrepancies: list[Discrepancy] = field(default_factory=list)

    def found(self, kind: str, reference: str, *, healed: bool, **context: Any) -> None:
        self.discrepancies.append(Discrepancy(kind=kind, reference=reference, healed=healed))
        DISCREPANCIES.labels(kind).inc()
        log.warning("reconciliation.discrepancy", kind=kind, reference=reference, healed=healed, **context)

    def report(self) -> ReconciliationReport:
        return ReconciliationReport(
            started_at=self.started_at, finished_at=utcnow(), checked=self.checked, discrepancies=self.discrepancies
        )


@dataclass
class Reconciler:
    db: Database
    adapter: StripeAdapter
    nats: Any  # () → the connected NATS client
    interval_s: float = 3600.0
    first_run_s: float = 30.0
    lookback_s: float = 3 * 24 * 3600.0
    grace_s: float = 300.0
    request_timeout_s: float = 30.0

    async def job(self) -> None:
        """Runs as a background job: once per interval across all replicas."""
        await asyncio.sleep(self.first_run_s * (0.5 + random.random() / 2))
        while True:
            period = str(int(utcnow().timestamp() // self.interval_s))
            async with self.db.transaction() as session:
                mine = await claim_period(session, job="reconcile", period=period, holder=_holder())
            if mine:
                await self.run()
            await asyncio.sleep(self.interval_s - utcnow().timestamp() % self.interval_s + random.random())

    async def run(self) -> ReconciliationReport:
        now = utcnow()
        window = Window(since=now - timedelta(seconds=self.lookback_s), until=now - timedelta(seconds=self.grace_s))
        run = Run()
        intents = await self.adapter.list_payment_intents(created_since=window.since)
        customers = await self._customers()
        ours = {(i.get("metadata") or {}).get("topup_id"): i for i in intents if _ours(i, window, customers)}
        await self._payments(run, ours)
        await self._refunds(run, window, ours)
        credited = await self._ledger(run, window)
        await self._documents(run, window, credited)
        report = run.report()
        async with self.db.transaction() as session:
            session.add(
                ReconciliationRun(
                    started_at=report.started_at, finished_at=report.finished_at, report=report.model_dump(mode="json")
                )
            )
        log.info(
            "reconciliation.finished",
            checked=report.checked,
            discrepancies=len(report.discrepancies),
            took_s=round((report.finished_at - report.started_at).total_seconds(), 2),
        )
        return report

    async def _payments(self, run: Run, intents: dict[str, dict]) -> None:
        """Succeeded at Stripe, not succeeded here: the webhook was lost (or is parked)."""
        run.checked["payments"] = len(intents)
        for topup_id, intent in intents.items():
            if intent.get("status") != "succeeded":
                continue
            async with self.db.transaction() as session:
                topup = await repository.locked_topup(session, topup_id=topup_id, payment_intent_id=intent["id"])
                if topup is None:
                    run.found("payment_unknown", intent["id"], healed=False, topup_id=topup_id)
                    continue
                card = await cards.card_of(session, self.adapter, _id(intent.get("payment_method")))
                healed = await settlement.settle_paid(
                    session, topup, intent=intent, card=card, correlation_id=f"reconcile:{intent['id']}"
                )
                if healed:
                    run.found("payment_not_settled", topup.id, healed=True, payment_intent_id=intent["id"])

    async def _refunds(self, run: Run, window: Window, intents: dict[str, dict]) -> None:
        """Succeeded at Stripe, not recorded here: `charge.refunded` lost, parked, or seen while pending."""
        by_intent = {i["id"]: topup_id for topup_id, i in intents.items()}
        ours = [
            r
            for r in await self.adapter.list_refunds_since(created_since=window.since)
            if _id(r.get("payment_intent")) in by_intent and _created(r) < window.until
        ]
        refunds = [r for r in ours if r.get("status") == "succeeded"]
        run.checked["refunds"] = len(refunds)
        for refund in (r for r in ours if r.get("status") in ("failed", "canceled")):
            await self._release_failed(run, refund, topup_id=by_intent[_id(refund["payment_intent"])])
        for refund in refunds:
            async with self.db.transaction() as session:
                topup = await repository.locked_topup(session, topup_id=by_intent[_id(refund["payment_intent"])])
                if topup is not None and await settlement.settle_refunds(
                    session, topup, [refund], correlation_id=f"reconcile:{refund['id']}"
                ):
                    run.found("refund_not_recorded", refund["id"], healed=True, topup_id=topup.id)

    async def _release_failed(self, run: Run, refund: dict, *, topup_id: str) -> None:
        """A refund the operator asked for that failed at Stripe while its `refund.updated` was lost: its
        request stops holding the amount — `refund_request_not_answered`."""
        async with self.db.transaction() as session:
            await repository.locked_topup(session, topup_id=topup_id)  # lock order: top-up, then request
            request_id = (refund.get("metadata") or {}).get("refund_request_id")
            if await repository.answer_refund_request(
                session, refund_id=refund["id"], request_id=request_id, status="failed"
            ):
                run.found("refund_request_not_answered", refund["id"], healed=True, topup_id=topup_id)

    async def _ledger(self, run: Run, window: Window) -> dict[str, tuple[dict, dict]]:
        """Paid here, not in the ledger: the TopupPaid / PaymentRefunded once more (the ledger applies
        each top-up id and refund id once). Answers the credited top-ups, for the documents' check."""
        paid = await self._paid_topups(window)
        refunds = await self._recorded_refunds(window)
        run.checked["credits"] = len(paid) + len(refunds)
        credits, recorded = {}, {}
        for chunk in _chunks(list(paid), CHUNK):
            reply = await request(self.nats(), ReconcileLedger(topup_ids=chunk), timeout=self.request_timeout_s)
            credits.update({c.topup_id: c for c in reply.credits})
        for chunk in _chunks(list(refunds), CHUNK):
            reply = await request(self.nats(), ReconcileLedger(refund_ids=chunk), timeout=self.request_timeout_s)
            recorded.update({r.refund_id: r for r in reply.refunds})
        async with self.db.transaction() as session:
            again = []
            for topup_id, topup in paid.items():
                if topup_id not in credits:
                    again.append(
                        _fresh(
                            events.topup_paid(topup, paid_at=topup.updated_at, correlation_id=f"reconcile:{topup_id}")
                        )
                    )
                    run.found("payment_not_credited", topup_id, healed=True)
            for refund_id, (refund, topup) in refunds.items():
                if refund_id not in recorded:
                    again.append(
                        _fresh(
                            events.payment_refunded(
                                topup,
                                refund_id=refund_id,
                                amount_cents=refund.amount_cents,
                                refunded_at=refund.refunded_at,
                                correlation_id=f"reconcile:{refund_id}",
                            )
                        )
                    )
                    run.found("refund_not_in_ledger", refund_id, healed=True, topup_id=topup.id)
            await outbox.add(session, again)
        return {"credits": (paid, credits), "refunds": (refunds, recorded)}

    async def _documents(self, run: Run, window: Window, ledger: dict) -> None:
        """Credited but not invoiced, recorded but without credit note: issued now."""
        paid, credits = ledger["credits"]
        refunds, recorded = ledger["refunds"]
        facts_credited = [
            CreditedTopup(
                tenant_id=c.tenant_id,
                topup_id=c.topup_id,
                amount_cents=c.amount_cents,
                bonus_cents=c.bonus_cents,
                payment_reference=paid[c.topup_id].payment_intent_id or "",
                paid_at=paid[c.topup_id].updated_at,
                transaction_id=c.transaction_id,
                card_last4=paid[c.topup_id].card_last4,
            )
            for c in credits.values()
            if c.topup_id in paid
        ]
        facts_refunded = [
            RecordedRefund(
                tenant_id=refunds[r.refund_id][1].tenant_id,
                refund_id=r.refund_id,
                topup_id=refunds[r.refund_id][1].id,
                amount_cents=r.amount_cents,
                bonus_reversed_cents=r.bonus_reversed_cents,
                refunded_at=refunds[r.refund_id][0].refunded_at,
                transaction_id=r.transaction_id or "",
            )
            for r in recorded.values()
            if r.refund_id in refunds and r.amount_cents > 0
        ]
        run.checked["documents"] = len(facts_credited) + len(facts_refunded)
        # invoices first: a credit note refers to its top-up's invoice
        requests = [ReconcileDocuments(credits=chunk) for chunk in _chunks(facts_credited, 20)]
        requests += [ReconcileDocuments(refunds=chunk) for chunk in _chunks(facts_refunded, 20)]
        for req in requests:
            try:
                reply = await request(self.nats(), req, timeout=self.request_timeout_s)
            except ServiceError as exc:  # e.g. a credit note whose invoice could not be issued either
                for source in [c.topup_id for c in req.credits] + [r.refund_id for r in req.refunds]:
                    run.found("documents_unchecked", source, healed=False, error=exc.message)
                continue
            for topup_id in reply.missing_invoices:
                run.found("invoice_missing", topup_id, healed=True)
            for refund_id in reply.missing_credit_notes:
                run.found("credit_note_missing", refund_id, healed=True)

    async def _paid_topups(self, window: Window) -> dict[str, Topup]:
        query = sa.select(Topup).where(
            Topup.status.in_(("succeeded", "refunded")),
            Topup.updated_at >= window.since,
            Topup.updated_at < window.until,
        )
        async with self.db.sessions() as session:
            return {t.id: t for t in (await session.execute(query)).scalars()}

    async def _recorded_refunds(self, window: Window) -> dict[str, tuple[Refund, Topup]]:
        query = (
            sa.select(Refund, Topup)
            .join(Topup, Topup.id == Refund.topup_id)
            .where(Refund.refunded_at >= window.since, Refund.refunded_at < window.until)
        )
        async with self.db.sessions() as session:
            return {r.id: (r, t) for r, t in (await session.execute(query)).all()}

    async def _customers(self) -> set[str]:
        """Our tenants' Stripe customers: the account may hold other payments than ours."""
        async with self.db.sessions() as session:
            return set((await session.execute(sa.select(repository.customers.c.customer_id))).scalars())

    async def last_report(self) -> ReconciliationReport | None:
        query = sa.select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(1)
        async with self.db.sessions() as session:
            row = (await session.execute(query)).scalar_one_or_none()
        return None if row is None else ReconciliationReport.model_validate(row.report)


def _ours(intent: dict, window: Window, customers: set[str]) -> bool:
    return (
        bool((intent.get("metadata") or {}).get("topup_id"))
        and _id(intent.get("customer")) in customers
        and _created(intent) < window.until
    )


def _created(obj: dict) -> datetime:
    return datetime.fromtimestamp(int(obj.get("created") or 0), UTC)


def _id(value: object) -> str | None:
    return value.get("id") if isinstance(value, dict) else value  # type: ignore[return-value]


def _fresh(event):
    """The same fact under a new event id: the first one may sit inside JetStream's duplicate window."""
    return event.model_copy(update={"event_id": f"{event.event_id}_r{int(utcnow().timestamp())}"[:64]})


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _holder() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"
