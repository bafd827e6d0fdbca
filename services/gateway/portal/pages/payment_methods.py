"""/portal/payment-methods — saved cards: list, add (Stripe SetupIntent), make default, remove."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request

from contracts.payments.v1 import (
    AttachPaymentMethod,
    CreateSetupIntent,
    DetachPaymentMethod,
    ListPaymentMethods,
    SetDefaultPaymentMethod,
)
from runtime.messaging import ServiceError
from services.gateway.api.deps import Principal
from services.gateway.api.rpc import ask
from services.gateway.portal.data import fetch, with_account
from services.gateway.portal.web import PortalRoute, checked_form, logged_in, redirect, render, translator

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
PAGE = "/portal/payment-methods"
PM_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,200}$")


@router.get(PAGE)
async def payment_methods(request: Request, principal: Principal = Depends(logged_in)):
    account, methods = await with_account(
        request, principal, fetch(request, ListPaymentMethods(tenant_id=principal.tenant_id), timeout=15)
    )
    t = translator(request, account.locale if account else None)
    return render(request, "portal/payment_methods.html", principal=principal, t=t, account=account, methods=methods)


@router.post(PAGE + "/setup")
async def start_setup(request: Request, principal: Principal = Depends(logged_in)):
    """Opens a SetupIntent; the page then confirms a card against it and attaches the result."""
    await checked_form(request, principal)
    account, intent = await with_account(
        request, principal, ask(request, CreateSetupIntent(tenant_id=principal.tenant_id), timeout=30)
    )
    t = translator(request, account.locale if account else None)
    return render(
        request, "portal/payment_method_add.html", principal=principal, t=t, account=account, intent=intent, error=None
    )


@router.post(PAGE)
async def attach(request: Request, principal: Principal = Depends(logged_in)):
    form = await checked_form(request, principal)
    pm_id = str(form.get("payment_method_id", "")).strip()
    if not PM_ID.match(pm_id):
        return redirect(PAGE, flash="flash.error", kind="error", detail="payment_method_id")
    try:
        await ask(
            request,
            AttachPaymentMethod(
                tenant_id=principal.tenant_id, payment_method_id=pm_id, make_default=form.get("make_default") == "on"
            ),
            timeout=30,
        )
    except ServiceError as exc:
        if exc.code == "unavailable":
            raise
        return redirect(PAGE, flash="flash.error", kind="error", detail=exc.message)
    return redirect(PAGE, flash="flash.pm_added")


@router.post(PAGE + "/{pm_id}/default")
async def make_default(pm_id: str, request: Request, principal: Principal = Depends(logged_in)):
    await checked_form(request, principal)
    await ask(request, SetDefaultPaymentMethod(tenant_id=principal.tenant_id, payment_method_id=pm_id), timeout=30)
    return redirect(PAGE, flash="flash.pm_default")


@router.post(PAGE + "/{pm_id}/remove")
async def remove(pm_id: str, request: Request, principal: Principal = Depends(logged_in)):
    await checked_form(request, principal)
    await ask(request, DetachPaymentMethod(tenant_id=principal.tenant_id, payment_method_id=pm_id), timeout=30)
    return redirect(PAGE, flash="flash.pm_removed")
