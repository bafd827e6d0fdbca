"""Invoices per credited top-up and credit notes per recorded refund (idempotent per source)."""

from __future__ import annotations

import sqlalchemy as sa

from contracts.billing.v1 import AccountProfile, RefundRecorded, TopupCredited
from contracts.documents.v1 import CreditedTopup, DocumentsReconciliation, RecordedRefund
from runtime.failures import PrerequisiteMissing
from runtime.inbox import claim_new
from services.documents import profiles
from services.documents.context import Deps
from services.documents.issuing import Draft, issue
from services.documents.rendering import CreditNoteData, InvoiceData
from services.documents.rendering.formatting import format_money
from services.documents.rendering.models import PaymentCard
from services.documents.tables import documents


async def _buyers(deps: Deps, tenant_ids) -> dict[str, AccountProfile]:
    return await profiles.load(db=deps.db, nc=deps.nats(), tenant_ids=tenant_ids, timeout=deps.billing_timeout_s)


async def issue_invoices(*, deps: Deps, events: list[TopupCredited] | list[CreditedTopup]) -> list[str]:
    """One invoice per top-up id, however often and concurrently its event arrives."""
    credited = list({e.topup_id: e for e in events if e.amount_cents > 0}.values())
    if not credited:
        return []
    buyers = await _buyers(deps, {e.tenant_id for e in credited})
    today = deps.today()

    def draft(e: TopupCredited | CreditedTopup) -> Draft:
        buyer = buyers[e.tenant_id]
        return Draft(
            tenant_id=e.tenant_id,
            kind="invoice",
            source_key=e.topup_id,
            topup_id=e.topup_id,
            correlation_id=getattr(e, "event_id", None),
            card_last4=e.card_last4,
            build=lambda number: InvoiceData(
                number=number,
                issue_date=today,
                supply_date=deps.local_date(e.paid_at),
                seller=deps.seller,
                buyer=profiles.buyer(buyer),
                gross_cents=e.amount_cents,
                bonus_cents=e.bonus_cents,
                payment_reference=e.payment_reference,
                locale=buyer.locale,
                einvoice=profiles.einvoice(buyer),
                card=_card(e.card_last4),
            ),
        )

    async with deps.db.transaction() as session:
        fresh = await claim_new(session, consumer="topup-credited", message_ids=sorted(e.topup_id for e in credited))
        drafts = [draft(e) for e in credited if e.topup_id in fresh]
        return await issue(session, drafts, kind="invoice", issue_date=today, issuer=deps.issuer)


def _card(last4: str | None) -> PaymentCard | None:
    return PaymentCard(last4=last4) if last4 and len(last4) == 4 and last4.isdigit() else None


async def original_invoices(*, deps: Deps, topup_ids) -> dict[str, sa.Row]:
    query = sa.select(
        documents.c.topup_id, documents.c.tenant_id, documents.c.number, documents.c.issue_date, documents.c.card_last4
    ).where(documents.c.kind == "invoice", documents.c.status == "issued", documents.c.topup_id.in_(set(topup_ids)))
    async with deps.db.sessions() as session:
        return {r.topup_id: r for r in (await session.execute(query)).all()}


def refund_reason(refund: RefundRecorded | RecordedRefund, locale: str) -> str:
    text = "Erstattung der Aufladung" if locale == "de" else "Refund of the top-up"
    if refund.bonus_reversed_cents:
        bonus = format_money(refund.bonus_reversed_cents, locale)
        text += (
            f"; Bonus-Storno {bonus} (unentgeltliches Guthaben, nicht Teil der Rechnung)"
            if locale == "de"
            else f"; bonus reversed {bonus} (credited free of charge, not invoiced)"
        )
    return text


async def issue_credit_notes(*, deps: Deps, events: list[RefundRecorded] | list[RecordedRefund]) -> list[str]:
    """One credit note per refund id, referring to the top-up's invoice. Waits (PrerequisiteMissing,
    retried until it succeeds) while that invoice does not exist yet."""
    refunds = list({e.refund_id: e for e in events if e.amount_cents > 0}.values())
    if not refunds:
        return []
    originals = await original_invoices(deps=deps, topup_ids=[r.topup_id for r in refunds])
    missing = [
        r.refund_id for r in refunds if r.topup_id not in originals or originals[r.topup_id].tenant_id != r.tenant_id
    ]
    if missing:  # the refund overtook its top-up's invoice: this refund waits, the others go on
        raise PrerequisiteMissing(f"no invoice yet for the top-ups of refunds {', '.join(missing)}")
    buyers = await _buyers(deps, {r.tenant_id for r in refunds})
    today = deps.today()

    def draft(r: RefundRecorded | RecordedRefund) -> Draft:
        buyer, invoice = buyers[r.tenant_id], originals[r.topup_id]
        return Draft(
            tenant_id=r.tenant_id,
            kind="credit_note",
            source_key=r.refund_id,
            topup_id=r.topup_id,
            correlation_id=getattr(r, "event_id", None),
            build=lambda number: CreditNoteData(
                number=number,
                issue_date=today,
                original_invoice_number=invoice.number,
                original_invoice_date=invoice.issue_date,
                seller=deps.seller,
                buyer=profiles.buyer(buyer),
                refunded_gross_cents=r.amount_cents,
                reason=refund_reason(r, buyer.locale),
                payment_reference=r.refund_id,
                locale=buyer.locale,
                einvoice=profiles.einvoice(buyer),
                card=_card(invoice.card_last4),
            ),
        )

    async with deps.db.transaction() as session:
        fresh = await claim_new(session, consumer="refund-recorded", message_ids=sorted(r.refund_id for r in refunds))
        drafts = [draft(r) for r in refunds if r.refund_id in fresh]
        return await issue(session, drafts, kind="credit_note", issue_date=today, issuer=deps.issuer)


async def reconcile(
    *, deps: Deps, sources: list[CreditedTopup], refunded: list[RecordedRefund], heal: bool
) -> DocumentsReconciliation:
    """Every credited top-up has an invoice, every recorded refund its credit note: answer what was
    missing and, when healing, issue it through the same idempotent use cases as the events."""
    credits, refunds = sources, refunded
    invoiced = await _issued_sources(deps, "invoice", [c.topup_id for c in credits])
    credited_back = await _issued_sources(deps, "credit_note", [r.refund_id for r in refunds if r.amount_cents > 0])
    no_invoice = [c for c in credits if c.topup_id not in invoiced and c.amount_cents > 0]
    no_credit_note = [r for r in refunds if r.refund_id not in credited_back and r.amount_cents > 0]
    issued: list[str] = []
    if heal and no_invoice:
        issued += await issue_invoices(deps=deps, events=no_invoice)
    if heal and no_credit_note:  # after the invoices: a credit note refers to one
        issued += await issue_credit_notes(deps=deps, events=no_credit_note)
    return DocumentsReconciliation(
        missing_invoices=[c.topup_id for c in no_invoice],
        missing_credit_notes=[r.refund_id for r in no_credit_note],
        issued=issued,
    )


async def _issued_sources(deps: Deps, kind: str, source_keys: list[str]) -> set[str]:
    if not source_keys:
        return set()
    query = sa.select(documents.c.source_key).where(
        documents.c.kind == kind, documents.c.status == "issued", documents.c.source_key.in_(source_keys)
    )
    async with deps.db.sessions() as session:
        return set((await session.execute(query)).scalars())
