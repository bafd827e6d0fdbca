"""The accountant's files (Bearer $GATEWAY_ADMIN_TOKEN): the month's DATEV booking batch and debtors."""

from __future__ import annotations

import base64
from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from contracts.documents.v1 import ExportDatev
from services.gateway.api.deps import Admin
from services.gateway.api.errors import COMMON_RESPONSES
from services.gateway.api.rpc import ask

router = APIRouter(prefix="/admin/v1/exports", tags=["admin"], dependencies=[Admin], responses=COMMON_RESPONSES)
MONTH = Query(..., pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM, by the documents' issue dates")
CSV = {200: {"content": {"text/csv": {}}, "description": "DATEV EXTF, Windows-1252, `;`-separated"}}


async def _export(request: Request, month: str, kind: Literal["bookings", "debtors"]) -> Response:
    reply = await ask(request, ExportDatev(month=month, kind=kind), timeout=60)
    return Response(
        base64.b64decode(reply.content_b64 or ""),
        media_type=reply.media_type,
        headers={"Content-Disposition": f'attachment; filename="{reply.filename}"'},
    )


@router.get("/datev", response_class=Response, responses=CSV)
async def datev_bookings(request: Request, month: str = MONTH) -> Response:
    """A DATEV Buchungsstapel (EXTF 700, category 21): one line per invoice and credit note."""
    return await _export(request, month, "bookings")


@router.get("/datev-debtors", response_class=Response, responses=CSV)
async def datev_debtors(request: Request, month: str = MONTH) -> Response:
    """The DATEV debtor master data (EXTF 700, category 16) of the month's tenants."""
    return await _export(request, month, "debtors")
