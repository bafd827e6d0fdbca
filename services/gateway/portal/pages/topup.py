"""/portal/topup — amount with its bonus shown before paying, then Stripe Checkout; /portal/topups/{id} —
the result, live as soon as the webhook lands."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request

from contracts.payments.v1 import CreateTopup, GetTopup, QuoteTopup, TopupQuote
from runtime.messaging import ServiceError
from services.gateway.api.deps import Principal
from services.gateway.api.rpc import ask
from services.gateway.portal.data import fetch, with_account
from services.gateway.portal.money import parse_euros
from services.gateway.portal.web import PortalRoute, checked_form, logged_in, redirect, render, translator

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
PRESETS = (2500, 5000, 10000, 25000, 50000)


async def _quote(request: Request, amount: int | None) -> TopupQuote:
    """Limits, tiers and the bonus of `amount` as payments, the bonus's only owner, decides them."""
    return await ask(request, QuoteTopup(amount_cents=amount))


async def _form(
    request: Request,
    principal: Principal,
    account,
    *,
    amount_text: str = "",
    error: str | None = None,
    status: int = 200,
):
    t = translator(request, account.locale if account else None)
    amount = parse_euros(amount_text) if amount_text else None
    quote = await _quote(request, amount)
    preview = (amount, quote.bonus_cents or 0) if amount else None
    return render(
        request,
        "portal/topup.html",
        principal=principal,
        t=t,
        account=account,
        status=status,
        low=quote.min_cents,
        high=quote.max_cents,
        tiers=quote.tiers,
        presets=PRESETS,
        amount_text=amount_text,
        preview=preview,
        error=error,
        idempotency_key=str(uuid.uuid4()),
    )


@router.get("/portal/topup")
async def topup_form(request: Request, principal: Principal = Depends(logged_in)):
    (account,) = await with_account(request, principal)
    return await _form(request, principal, account, amount_text=request.query_params.get("amount", "")[:20])


@router.post("/portal/topup")
async def topup_start(request: Request, principal: Principal = Depends(logged_in)):
    form = await checked_form(request, principal)
    amount_text = str(form.get("amount", ""))[:20]
    amount = parse_euros(amount_text)
    key = str(form.get("idempotency_key") or "")[:255] or str(uuid.uuid4())
    quote = await _quote(request, None)
    if amount is None or not quote.min_cents <= amount <= quote.max_cents:
        (account,) = await with_account(request, principal)
        t = translator(request, account.locale if account else None)
        return await _form(
            request,
            principal,
            account,
            amount_text=amount_text,
            status=400,
            error=t("topup.bad_amount", min=t.money(quote.min_cents), max=t.money(quote.max_cents)),
        )
    try:
        reply = await ask(
            request,
            CreateTopup(tenant_id=principal.tenant_id, amount_cents=amount, idempotency_key=f"portal:{key}"),
            timeout=30,
        )
    except ServiceError as exc:
        if exc.code not in ("validation_error", "idempotency_conflict", "conflict"):
            raise
        (account,) = await with_account(request, principal)
        return await _form(request, principal, account, amount_text=amount_text, status=400, error=exc.message)
    if not reply.topup or not reply.topup.checkout_url:
        return redirect(f"/portal/topups/{reply.topup.id}" if reply.topup else "/portal/topup")
    return redirect(reply.topup.checkout_url)


@router.get("/portal/topups/{topup_id}")
async def topup_result(topup_id: str, request: Request, principal: Principal = Depends(logged_in)):
    account, reply = await with_account(
        request, principal, fetch(request, GetTopup(tenant_id=principal.tenant_id, topup_id=topup_id))
    )
    t = translator(request, account.locale if account else None)
    return render(
        request,
        "portal/topup_result.html",
        principal=principal,
        t=t,
        account=account,
        topup=reply.topup if reply else None,
        unavailable=not reply,
        cancelled=request.query_params.get("result") == "cancel",
        topup_id=topup_id,
    )
