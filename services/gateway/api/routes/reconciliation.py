"""GET /admin/v1/reconciliation: the last report of payments' reconciler (404 before its first run)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from contracts.payments.v1 import GetReconciliation, ReconciliationReport
from services.gateway.api.deps import Admin
from services.gateway.api.errors import COMMON_RESPONSES
from services.gateway.api.rpc import ask

router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Admin], responses=COMMON_RESPONSES)


@router.get("/reconciliation", response_model=ReconciliationReport)
async def last_reconciliation(request: Request) -> ReconciliationReport:
    """What the last run checked, the discrepancies it found and whether each was healed."""
    return await ask(request, GetReconciliation())
