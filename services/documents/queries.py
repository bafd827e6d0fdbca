"""The gateway's questions: a tenant's documents and their stored files (never re-rendered)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import sqlalchemy as sa

from contracts.documents.v1 import DocumentsReply, DocumentView, FileReply
from runtime.db import Database
from runtime.refusals import Conflict, NotFound
from services.documents import datev, profiles
from services.documents.store import DocumentStore
from services.documents.tables import documents

MEDIA_TYPES = {"pdf": "application/pdf", "xml": "application/xml", "csv": "text/csv; charset=utf-8"}


def view(row) -> DocumentView:
    return DocumentView(
        id=row.id,
        kind=row.kind,
        number=row.number,
        issued_at=row.issued_at,
        total_cents=row.total_cents,
        status="issued" if row.status == "issued" else "pending",
    )


async def list_documents(*, db: Database, tenant_id: str, kind: str | None, limit: int) -> DocumentsReply:
    """Newest first: by issue time (a pending statement by the time it was asked for), then number."""
    newest = sa.func.coalesce(documents.c.issued_at, documents.c.created_at)
    query = sa.select(documents).where(documents.c.tenant_id == tenant_id)
    if kind:
        query = query.where(documents.c.kind == kind)
    query = query.order_by(newest.desc(), documents.c.number.desc()).limit(limit)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return DocumentsReply(items=[view(r) for r in rows])


async def document_file(*, db: Database, store: DocumentStore, tenant_id: str, document_id: str, fmt: str) -> FileReply:
    """The stored bytes; another tenant's or an unknown id is `not_found`, a pending one `conflict`."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                sa.select(documents).where(documents.c.id == document_id, documents.c.tenant_id == tenant_id)
            )
        ).first()
    if row is None:
        raise NotFound("document not found")
    if row.status != "issued":
        raise Conflict("the document is still being rendered; try again shortly")
    key = {"pdf": row.pdf_key, "xml": row.xml_key, "csv": row.csv_key}[fmt]
    if key is None:
        raise NotFound(f"a {row.kind.replace('_', ' ')} has no {fmt} file")
    content = await store.get(key)
    return FileReply(
        content_b64=base64.b64encode(content).decode(), media_type=MEDIA_TYPES[fmt], filename=f"{row.number}.{fmt}"
    )


async def datev_export(*, deps, month: str, kind: str) -> FileReply:
    """The DATEV files of a month (services/documents/datev.py); the debtors are the month's tenants."""
    bookings = await datev.month_bookings(db=deps.db, config=deps.datev, month=month)
    created = datetime.now(UTC)
    if kind == "bookings":
        content = datev.bookings_file(deps.datev, bookings, month=month, created=created)
    else:
        tenants = {b.debtor: b.tenant_id for b in bookings}
        known = await profiles.load(
            db=deps.db, nc=deps.nats(), tenant_ids=set(tenants.values()), timeout=deps.billing_timeout_s
        )
        content = datev.debtors_file(
            deps.datev, [(n, known[tenants[n]]) for n in sorted(tenants)], month=month, created=created
        )
    name = f"EXTF_{'Buchungsstapel' if kind == 'bookings' else 'Debitoren'}_{month}.csv"
    return FileReply(
        content_b64=base64.b64encode(content).decode(), media_type="text/csv; charset=windows-1252", filename=name
    )
