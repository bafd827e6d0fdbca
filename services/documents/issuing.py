"""Issue documents: number, render, store and record them in one transaction (see numbering.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import new_id, utcnow
from contracts.documents.v1 import DocumentIssued
from contracts.portal.v1 import PortalEvent
from runtime import outbox
from services.documents import numbering
from services.documents.render_pool import DocumentData, Renderer
from services.documents.store import DocumentStore
from services.documents.tables import documents


@dataclass(frozen=True)
class Draft:
    """A document to issue; `build(number)` answers the renderer's input with that number."""

    tenant_id: str
    kind: str
    source_key: str
    build: Callable[[str], DocumentData]
    document_id: str | None = None  # an existing pending row (statements)
    topup_id: str | None = None
    month: str | None = None
    correlation_id: str | None = None
    card_last4: str | None = None
    csv: bytes | None = None  # stored beside the PDF (statements)


@dataclass(frozen=True)
class Issuer:
    renderer: Renderer
    store: DocumentStore


async def issue(
    session: AsyncSession, drafts: list[Draft], *, kind: str, issue_date: date, issuer: Issuer
) -> list[str]:
    """Issue the drafts not issued yet, in order, with consecutive numbers; answer their numbers.
    The batch is rendered concurrently (in parallel with a ProcessRenderer) under the lock."""
    series, year = numbering.SERIES[kind], issue_date.year
    last = await numbering.lock_counter(session, series=series, year=year)
    done = await _issued_sources(session, kind, [d.source_key for d in drafts])
    todo = list({d.source_key: d for d in drafts if d.source_key not in done}.values())
    if not todo:
        return []
    numbers = [numbering.format_number(series, year, last + i) for i in range(1, len(todo) + 1)]
    inputs = [draft.build(number) for draft, number in zip(todo, numbers, strict=True)]
    rendered = await asyncio.gather(*(issuer.renderer.render(data) for data in inputs))
    now, events = utcnow(), []
    for draft, number, data, document in zip(todo, numbers, inputs, rendered, strict=True):
        doc_id = draft.document_id or new_id("doc_")[:40]
        keys = await _store(issuer.store, draft.tenant_id, number, document.pdf, document.xml, draft.csv)
        buyer = getattr(data, "buyer", None)
        values = {
            "status": "issued",
            "number": number,
            "issue_date": issue_date,
            "issued_at": now,
            "total_cents": document.total_cents,
            "tax_category": document.tax_category,
            "buyer_vat_id": buyer.vat_id if buyer is not None else None,
            **keys,
        }
        await _save_row(session, draft, doc_id, values, now)
        events += _events(draft, doc_id, number, document.total_cents, now)
    await numbering.save_counter(session, series=series, year=year, last_number=last + len(todo))
    await outbox.add(session, events)
    return numbers


async def _issued_sources(session: AsyncSession, kind: str, source_keys: list[str]) -> set[str]:
    query = sa.select(documents.c.source_key).where(
        documents.c.kind == kind, documents.c.source_key.in_(source_keys), documents.c.status == "issued"
    )
    return set((await session.execute(query)).scalars())


async def _store(
    store: DocumentStore, tenant_id: str, number: str, pdf: bytes, xml: bytes | None, csv: bytes | None = None
) -> dict:
    base = f"{tenant_id}/{number}-{new_id()[:12]}"  # fresh per attempt: never overwrites
    await store.put(f"{base}.pdf", pdf)
    keys = {"pdf_key": f"{base}.pdf", "xml_key": None}
    if xml is not None:
        await store.put(f"{base}.xml", xml)
        keys["xml_key"] = f"{base}.xml"
    if csv is not None:  # a statement's entries, as the customer's spreadsheet reads them
        await store.put(f"{base}.csv", csv)
        keys["csv_key"] = f"{base}.csv"
    return keys


async def _save_row(session: AsyncSession, draft: Draft, doc_id: str, values: dict, now: datetime) -> None:
    if draft.document_id:
        await session.execute(sa.update(documents).where(documents.c.id == doc_id).values(**values))
        return
    await session.execute(
        sa.insert(documents).values(
            id=doc_id,
            tenant_id=draft.tenant_id,
            kind=draft.kind,
            source_key=draft.source_key,
            topup_id=draft.topup_id,
            month=draft.month,
            card_last4=draft.card_last4,
            created_at=now,
            **values,
        )
    )


def _events(draft: Draft, doc_id: str, number: str, total: int, now: datetime) -> list:
    return [
        DocumentIssued(
            tenant_id=draft.tenant_id,
            document_id=doc_id,
            kind=draft.kind,
            number=number,
            total_cents=total,
            topup_id=draft.topup_id,
            issued_at=now,
            correlation_id=draft.correlation_id,
        ),
        PortalEvent(
            type="document.issued",
            tenant_id=draft.tenant_id,
            occurred_at=now,
            data={"id": doc_id, "kind": draft.kind, "number": number},
        ),
    ]
