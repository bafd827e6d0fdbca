"""Documents' subscribers and request handlers: parse, call one use case, nothing else."""

from __future__ import annotations

from collections.abc import Callable, Coroutine

from contracts.billing.v1 import AccountUpdated, RefundRecorded, TopupCredited
from contracts.documents.v1 import (
    DocumentsReply,
    ExportDatev,
    GetDocumentFile,
    ListDocuments,
    ReconcileDocuments,
    RequestStatement,
)
from runtime.handlers import event_consumer, rpc
from services.documents import profiles, queries, statements, use_cases
from services.documents.context import Deps

Spawn = Callable[[Coroutine], None]


def register(broker, consumers: list, *, deps: Deps, spawn: Spawn) -> None:
    queue = "documents"

    @event_consumer(consumers, AccountUpdated, durable="documents-account-updated")
    async def on_account_updated(events: list[AccountUpdated]) -> None:
        await profiles.remember(db=deps.db, events=events)

    @event_consumer(consumers, TopupCredited, durable="documents-topup-credited")
    async def on_topup_credited(events: list[TopupCredited]) -> None:
        await use_cases.issue_invoices(deps=deps, events=events)

    @event_consumer(consumers, RefundRecorded, durable="documents-refund-recorded")
    async def on_refund_recorded(events: list[RefundRecorded]) -> None:
        await use_cases.issue_credit_notes(deps=deps, events=events)

    @rpc(broker, ReconcileDocuments, queue=queue)
    async def on_reconcile_documents(req: ReconcileDocuments):
        return await use_cases.reconcile(deps=deps, sources=req.credits, refunded=req.refunds, heal=req.heal)

    @rpc(broker, ExportDatev, queue=queue)
    async def on_export_datev(req: ExportDatev):
        return await queries.datev_export(deps=deps, month=req.month, kind=req.kind)

    @rpc(broker, ListDocuments, queue=queue)
    async def on_list_documents(req: ListDocuments):
        return await queries.list_documents(db=deps.db, tenant_id=req.tenant_id, kind=req.kind, limit=req.limit)

    @rpc(broker, GetDocumentFile, queue=queue)
    async def on_get_document_file(req: GetDocumentFile):
        return await queries.document_file(
            db=deps.db, store=deps.issuer.store, tenant_id=req.tenant_id, document_id=req.document_id, fmt=req.format
        )

    @rpc(broker, RequestStatement, queue=queue)
    async def on_request_statement(req: RequestStatement):
        row = await statements.open_statement(deps=deps, tenant_id=req.tenant_id, month=req.month)
        if row.status == "pending":
            spawn(statements.complete(deps=deps, document_id=row.id))
        return DocumentsReply(item=queries.view(row))
