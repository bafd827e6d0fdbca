"""The invoice documents issued for a top-up (DocumentIssued), so `GET /v1/topups/{id}` reports it.

Only invoices carrying a `topup_id` count (credit notes reference the top-up they refund, statements
none). The first invoice recorded for a top-up stays: a redelivered or duplicate event changes nothing
(inbox, and the update only fills an empty `invoice_id`). An event naming a top-up of another tenant,
or one payments does not know, is ignored.
"""

from __future__ import annotations

import sqlalchemy as sa
import structlog

from contracts.base import utcnow
from contracts.documents.v1 import DocumentIssued
from runtime import inbox
from runtime.db import Database
from runtime.tables import table_of
from services.payments.tables import Topup

log = structlog.get_logger(__name__)
topups = table_of(Topup)
CONSUMER = "payments-document-issued"


async def link(*, db: Database, events: list[DocumentIssued]) -> None:
    async with db.transaction() as session:
        new = await inbox.claim_new(session, consumer=CONSUMER, message_ids=[e.event_id for e in events])
        for event in events:
            if event.event_id not in new or event.kind != "invoice" or not event.topup_id:
                continue
            result = await session.execute(
                sa.update(topups)
                .where(
                    topups.c.id == event.topup_id, topups.c.tenant_id == event.tenant_id, topups.c.invoice_id.is_(None)
                )
                .values(invoice_id=event.document_id, updated_at=utcnow())
            )
            if result.rowcount == 0:
                log.info("topup.invoice_not_linked", topup_id=event.topup_id, document_id=event.document_id)
