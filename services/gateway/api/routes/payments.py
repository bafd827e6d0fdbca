"""Top-ups, payment methods and the Stripe webhook ingress (owned by payments)."""

from __future__ import annotations

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from contracts.payments.v1 import (
    AttachPaymentMethod,
    CreateSetupIntent,
    CreateTopup,
    DetachPaymentMethod,
    GetTopup,
    IngestStripeWebhook,
    ListPaymentMethods,
    SetDefaultPaymentMethod,
)
from services.gateway.api.deps import CurrentTenant
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.idempotency import required_idempotency_key
from services.gateway.api.rpc import ask
from services.gateway.api.schemas import PaymentMethod, PaymentMethodIn, PaymentMethodList, SetupIntent, Topup, TopupIn

router = APIRouter(tags=["payments"], responses=COMMON_RESPONSES)


@router.post(
    "/v1/topups",
    status_code=201,
    response_model=Topup,
    responses={200: {"model": Topup, "description": "the same key and body again"}},
)
async def create_topup(
    body: TopupIn,
    tenant_id: CurrentTenant,
    request: Request,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    key = required_idempotency_key(idempotency_key)
    reply = await ask(
        request,
        CreateTopup(tenant_id=tenant_id, amount_cents=body.amount_cents, idempotency_key=key),
        timeout=30,
    )
    topup = Topup(**reply.topup.model_dump())
    return JSONResponse(topup.model_dump(mode="json"), status_code=201 if reply.created else 200)


@router.get("/v1/topups/{topup_id}", response_model=Topup)
async def get_topup(topup_id: str, tenant_id: CurrentTenant, request: Request) -> Topup:
    reply = await ask(request, GetTopup(tenant_id=tenant_id, topup_id=topup_id))
    return Topup(**reply.topup.model_dump())


@router.get("/v1/payment-methods", response_model=PaymentMethodList)
async def list_payment_methods(tenant_id: CurrentTenant, request: Request) -> PaymentMethodList:
    reply = await ask(request, ListPaymentMethods(tenant_id=tenant_id), timeout=30)
    return PaymentMethodList(items=[PaymentMethod(**i.model_dump()) for i in reply.items])


@router.post("/v1/payment-methods", status_code=201, response_model=PaymentMethod)
async def attach_payment_method(body: PaymentMethodIn, tenant_id: CurrentTenant, request: Request) -> PaymentMethod:
    reply = await ask(
        request,
        AttachPaymentMethod(
            tenant_id=tenant_id, payment_method_id=body.payment_method_id, make_default=body.make_default
        ),
        timeout=30,
    )
    return PaymentMethod(**reply.item.model_dump())


@router.post("/v1/payment-methods/setup", status_code=201, response_model=SetupIntent)
async def create_setup_intent(tenant_id: CurrentTenant, request: Request) -> SetupIntent:
    reply = await ask(request, CreateSetupIntent(tenant_id=tenant_id), timeout=30)
    return SetupIntent(setup_intent_id=reply.setup_intent_id, client_secret=reply.client_secret)


@router.post("/v1/payment-methods/{payment_method_id}/default", response_model=PaymentMethod)
async def set_default(payment_method_id: str, tenant_id: CurrentTenant, request: Request) -> PaymentMethod:
    reply = await ask(
        request, SetDefaultPaymentMethod(tenant_id=tenant_id, payment_method_id=payment_method_id), timeout=30
    )
    return PaymentMethod(**reply.item.model_dump())


@router.delete("/v1/payment-methods/{payment_method_id}", status_code=204)
async def detach(payment_method_id: str, tenant_id: CurrentTenant, request: Request) -> Response:
    await ask(request, DetachPaymentMethod(tenant_id=tenant_id, payment_method_id=payment_method_id), timeout=30)
    return Response(status_code=204)


@router.post(
    "/webhooks/stripe", include_in_schema=True, tags=["stripe"], responses={400: {"description": "bad signature"}}
)
async def stripe_webhook(request: Request, stripe_signature: str | None = Header(None, alias="Stripe-Signature")):
    """Raw Stripe event; answered 2xx once payments has durably accepted it."""
    payload = (await request.body()).decode("utf-8", errors="replace")
    if not stripe_signature:
        raise ApiError(400, "validation_error", "missing Stripe-Signature header")
    reply = await ask(request, IngestStripeWebhook(payload=payload, signature=stripe_signature), timeout=15)
    return {"received": True, "duplicate": reply.duplicate}
