"""/portal/notifications — channels per event type, phone number, browser push, webhook endpoints."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Request

from contracts.billing.v1 import UpdateAccount
from contracts.notify.v1 import (
    CHANNELS,
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    GetPreferences,
    ListDeliveries,
    ListWebhookEndpoints,
    ReplayDelivery,
    UpdatePreferences,
)
from contracts.portal.catalog import CRITICAL, EVENT_TYPES, NOTIFIABLE
from runtime.messaging import ServiceError
from services.gateway.api.deps import Principal
from services.gateway.api.rpc import ask
from services.gateway.portal.data import fetch, with_account
from services.gateway.portal.web import PortalRoute, checked_form, logged_in, redirect, render, translator

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
PAGE = "/portal/notifications"
PHONE = re.compile(r"^\+?[0-9 ()-]{4,20}$")
SECRET_COOKIE = "pp_new_secret"


@router.get(PAGE)
async def notifications(request: Request, principal: Principal = Depends(logged_in)):
    tenant_id = principal.tenant_id
    account, prefs, endpoints = await with_account(
        request,
        principal,
        fetch(request, GetPreferences(tenant_id=tenant_id)),
        fetch(request, ListWebhookEndpoints(tenant_id=tenant_id)),
    )
    t = translator(request, account.locale if account else None)
    secret = unquote(request.cookies.get(SECRET_COOKIE, ""))
    response = render(
        request,
        "portal/notifications.html",
        principal=principal,
        t=t,
        account=account,
        prefs=prefs,
        endpoints=endpoints,
        events=NOTIFIABLE,
        critical=CRITICAL,
        webhook_events=EVENT_TYPES,
        channels=CHANNELS,
        new_secret=secret if secret.startswith("whsec_") else None,
    )
    if secret:
        response.delete_cookie(SECRET_COOKIE, path=PAGE)
    return response


@router.post(PAGE + "/preferences")
async def save_preferences(request: Request, principal: Principal = Depends(logged_in)):
    form = await checked_form(request, principal)
    chosen = {event: [c for c in CHANNELS if form.get(f"{event}:{c}") == "on"] for event in NOTIFIABLE}
    try:
        await ask(request, UpdatePreferences(tenant_id=principal.tenant_id, preferences=chosen))
    except ServiceError as exc:
        if exc.code != "validation_error":  # a refusal the customer can read and correct
            raise
        return redirect(PAGE, flash="flash.error", kind="error", detail=exc.message)
    return redirect(PAGE, flash="flash.saved")


@router.post(PAGE + "/phone")
async def save_phone(request: Request, principal: Principal = Depends(logged_in)):
    form = await checked_form(request, principal)
    phone = str(form.get("phone", "")).strip()
    if phone and not PHONE.match(phone):
        return redirect(PAGE, flash="nt.bad_phone", kind="error")
    await ask(request, UpdateAccount(tenant_id=principal.tenant_id, changes={"phone": phone or None}))
    return redirect(PAGE, flash="flash.saved")


@router.post(PAGE + "/webhooks")
async def create_endpoint(request: Request, principal: Principal = Depends(logged_in)):
    form = await checked_form(request, principal)
    url = str(form.get("url", "")).strip()[:2000]
    events = [e for e in EVENT_TYPES if form.get(f"event:{e}") == "on"]
    if not url.startswith(("https://", "http://")):
        return redirect(PAGE, flash="nt.bad_url", kind="error")
    if not events:
        return redirect(PAGE, flash="nt.no_events", kind="error")
    try:
        reply = await ask(
            request, CreateWebhookEndpoint(tenant_id=principal.tenant_id, url=url, events=events), timeout=15
        )
    except ServiceError as exc:
        if exc.code == "unavailable":
            raise
        return redirect(PAGE, flash="flash.error", kind="error", detail=exc.message)
    response = redirect(PAGE, flash="flash.saved")
    if reply.item and reply.item.secret:  # shown once on the next page, then forgotten
        response.set_cookie(
            SECRET_COOKIE, quote(reply.item.secret), max_age=120, httponly=True, samesite="strict", path=PAGE
        )
    return response


@router.post(PAGE + "/webhooks/{endpoint_id}/delete")
async def delete_endpoint(endpoint_id: str, request: Request, principal: Principal = Depends(logged_in)):
    await checked_form(request, principal)
    await ask(request, DeleteWebhookEndpoint(tenant_id=principal.tenant_id, endpoint_id=endpoint_id))
    return redirect(PAGE, flash="flash.endpoint_deleted")


@router.get(PAGE + "/webhooks/{endpoint_id}")
async def deliveries(endpoint_id: str, request: Request, principal: Principal = Depends(logged_in)):
    tenant_id = principal.tenant_id
    account, endpoints, log = await with_account(
        request,
        principal,
        fetch(request, ListWebhookEndpoints(tenant_id=tenant_id)),
        fetch(request, ListDeliveries(tenant_id=tenant_id, endpoint_id=endpoint_id)),
    )
    t = translator(request, account.locale if account else None)
    endpoint = next((e for e in endpoints.items if e.id == endpoint_id), None) if endpoints else None
    return render(
        request,
        "portal/deliveries.html",
        principal=principal,
        t=t,
        account=account,
        endpoint=endpoint,
        endpoint_id=endpoint_id,
        log=log,
    )


@router.post(PAGE + "/webhooks/{endpoint_id}/replay/{webhook_id}")
async def replay(endpoint_id: str, webhook_id: str, request: Request, principal: Principal = Depends(logged_in)):
    await checked_form(request, principal)
    await ask(request, ReplayDelivery(tenant_id=principal.tenant_id, endpoint_id=endpoint_id, webhook_id=webhook_id))
    return redirect(f"{PAGE}/webhooks/{quote(endpoint_id)}", flash="flash.replayed")
