"""Invoices, credit notes and statements (owned by documents)."""

from __future__ import annotations

import base64
from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from contracts.documents.v1 import GetDocumentFile, ListDocuments, RequestStatement
from services.gateway.api.deps import CurrentTenant
from services.gateway.api.errors import COMMON_RESPONSES
from services.gateway.api.rpc import ask
from services.gateway.api.schemas import Accepted, Document, DocumentList, StatementIn

router = APIRouter(prefix="/v1", tags=["documents"], responses=COMMON_RESPONSES)


@router.get("/documents", response_model=DocumentList)
async def list_documents(
    tenant_id: CurrentTenant,
    request: Request,
    kind: Literal["invoice", "credit_note", "statement"] | None = Query(None),
) -> DocumentList:
    reply = await ask(request, ListDocuments(tenant_id=tenant_id, kind=kind))
    return DocumentList(items=[Document(**d.model_dump()) for d in reply.items])


async def document_file(request: Request, tenant_id: str, document_id: str, fmt: str) -> Response:
    """One of the tenant's documents as a download (the customer's routes and the operator console)."""
    reply = await ask(request, GetDocumentFile(tenant_id=tenant_id, document_id=document_id, format=fmt), timeout=15)
    # A PDF may open in the browser's viewer; XML and CSV are saved, never rendered on our origin.
    disposition = "inline" if fmt == "pdf" else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{reply.filename}"'} if reply.filename else {}
    return Response(base64.b64decode(reply.content_b64 or ""), media_type=reply.media_type, headers=headers)


@router.get(
    "/documents/{document_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 409: {"description": "still rendering"}},
)
async def document_pdf(document_id: str, tenant_id: CurrentTenant, request: Request) -> Response:
    return await document_file(request, tenant_id, document_id, "pdf")


@router.get(
    "/documents/{document_id}/xml", response_class=Response, responses={200: {"content": {"application/xml": {}}}}
)
async def document_xml(document_id: str, tenant_id: CurrentTenant, request: Request) -> Response:
    return await document_file(request, tenant_id, document_id, "xml")


@router.get(
    "/documents/{document_id}/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "a statement's entries, UTF-8 with BOM"}},
)
async def document_csv(document_id: str, tenant_id: CurrentTenant, request: Request) -> Response:
    return await document_file(request, tenant_id, document_id, "csv")


@router.post("/statements", status_code=202, response_model=Accepted)
async def request_statement(body: StatementIn, tenant_id: CurrentTenant, request: Request) -> Accepted:
    reply = await ask(request, RequestStatement(tenant_id=tenant_id, month=body.month))
    return Accepted(id=reply.item.id)
