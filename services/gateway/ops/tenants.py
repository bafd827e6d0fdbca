"""/ops (tenants by projected days left) and /ops/tenants/{id} (its top-ups, ledger, grants and documents).

The data comes from the admin API's own use cases (`tenant_overview`, `admin`, `documents`) and the
same bus requests, plus payments' list of the tenant's top-ups (`ListTopups`, what each may still
refund). Top-ups and documents are parts of the page: without payments or documents they say "not
available" and the rest of the page renders.
"""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Depends, Request, Response

from contracts.billing.v1 import TENANT_PAGE_MAX, ListTenants, ListTransactions
from contracts.documents.v1 import ListDocuments
from contracts.payments.v1 import ListTopups
from services.gateway.api.routes.admin import grants_of
from services.gateway.api.routes.documents import document_file
from services.gateway.api.routes.tenant_overview import tenant_account
from services.gateway.api.rpc import ask
from services.gateway.ops.sessions import Operator
from services.gateway.ops.web import NotFound, OpsRoute, logged_in, render, translator
from services.gateway.portal.data import fetch

router = APIRouter(route_class=OpsRoute, include_in_schema=False)
SORTED_MAX = 1000  # tenants read (newest first) and sorted by runway for one view of the list
SHOWN_MAX = 200  # of which the list shows the most urgent
LEDGER_PAGE = 25
TOPUPS_PAGE = 20
DOCUMENT_FORMATS = ("pdf", "xml", "csv")


def runway_order(tenant) -> tuple:
    """Shortest runway first; no usage to project from (None) last; then the least available."""
    days = tenant.projected_days_left
    return (days is None, days or 0, tenant.available_cents, tenant.name.lower())


async def tenants_by_runway(request: Request, query: str) -> tuple[list, bool]:
    """Up to SORTED_MAX matching tenants, sorted by `runway_order`, and whether more matched."""
    found, cursor = [], None
    while len(found) < SORTED_MAX:
        page = await ask(request, ListTenants(query=query, cursor=cursor, limit=TENANT_PAGE_MAX))
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return sorted(found, key=runway_order), cursor is not None


@router.get("/ops")
async def tenant_list(request: Request, operator: Operator = Depends(logged_in)):
    query = (request.query_params.get("query") or "").strip()[:200]
    tenants, capped = await tenants_by_runway(request, query)
    return render(
        request,
        "ops/tenants.html",
        operator=operator,
        t=translator(request),
        tenants=tenants[:SHOWN_MAX],
        hidden=max(0, len(tenants) - SHOWN_MAX),
        capped=SORTED_MAX if capped else None,
        query=query,
    )


@router.get("/ops/tenants/{tenant_id}")
async def tenant_page(tenant_id: str, request: Request, operator: Operator = Depends(logged_in)):
    cursor = (request.query_params.get("cursor") or "")[:200] or None
    topups_cursor = (request.query_params.get("topups") or "")[:200] or None
    tenant, topups, ledger, grants, documents = await asyncio.gather(
        tenant_account(request, tenant_id=tenant_id),
        fetch(request, ListTopups(tenant_id=tenant_id, limit=TOPUPS_PAGE, cursor=topups_cursor)),
        ask(request, ListTransactions(tenant_id=tenant_id, limit=LEDGER_PAGE, cursor=cursor)),
        grants_of(request, tenant_id=tenant_id),
        fetch(request, ListDocuments(tenant_id=tenant_id)),  # the part says "not available" without documents
    )
    return render(
        request,
        "ops/tenant.html",
        operator=operator,
        t=translator(request),
        tenant=tenant,
        ledger=ledger,
        paged=cursor is not None,
        topups=topups,
        topups_paged=topups_cursor is not None,
        grants=grants.items,
        documents=documents,
        keys={action: form_key() for action in ("adjust", "grant")},
        refund_keys={topup.id: form_key() for topup in (topups.items if topups else []) if topup.refundable_cents},
    )


def form_key() -> str:
    """A rendered form's idempotency key: the same confirmed form sent twice has one effect."""
    return f"ops-{uuid.uuid4().hex}"


@router.get("/ops/tenants/{tenant_id}/documents/{document_id}/{fmt}")
async def tenant_document(
    tenant_id: str, document_id: str, fmt: str, request: Request, _operator: Operator = Depends(logged_in)
) -> Response:
    """A tenant's document as its customer downloads it; another tenant's document is not found."""
    if fmt not in DOCUMENT_FORMATS:
        raise NotFound
    return await document_file(request, tenant_id, document_id, fmt)
