"""POST /admin/v1/topups/{id}/refunds: the operator refunds (part of) a paid top-up (owned by payments)."""

from __future__ import annotations

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from contracts.payments.v1 import RefundTopup
from services.gateway.api.deps import Admin
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.rpc import ask
from services.gateway.api.schemas import Refund, RefundIn

router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Admin], responses=COMMON_RESPONSES)


@router.post(
    "/topups/{topup_id}/refunds",
    status_code=202,
    response_model=Refund,
    responses={200: {"model": Refund, "description": "the same key and body again"}},
)
async def refund_topup(
    topup_id: str,
    body: RefundIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """The Stripe refund is created now; its ledger entry, bonus reversal and credit note follow as for
    a refund made at Stripe, once. `status` is `pending` until Stripe has settled it, then `succeeded`."""
    if not idempotency_key or not idempotency_key.strip():
        raise ApiError(400, "validation_error", "the Idempotency-Key header is required")
    if len(idempotency_key) > 255:
        raise ApiError(400, "validation_error", "Idempotency-Key is longer than 255 characters")
    made, created = await refund_payment(request, topup_id=topup_id, body=body, key=idempotency_key)
    return JSONResponse(made.model_dump(mode="json"), status_code=202 if created else 200)


async def refund_payment(request: Request, *, topup_id: str, body: RefundIn, key: str) -> tuple[Refund, bool]:
    """The refund and whether this call asked for it (False: the same key and body again); this route
    and the operator console."""
    reply = await ask(
        request,
        RefundTopup(topup_id=topup_id, amount_cents=body.amount_cents, reason=body.reason, idempotency_key=key),
        timeout=30,
    )
    return Refund(**reply.refund.model_dump()), reply.created
