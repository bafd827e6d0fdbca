"""/portal/documents — invoices, credit notes and statements with PDF/XML downloads; statements on demand."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request

from contracts.documents.v1 import ListDocuments, RequestStatement
from runtime.messaging import ServiceError
from services.gateway.api.deps import Principal
from services.gateway.api.rpc import ask
from services.gateway.portal.data import fetch, with_account
from services.gateway.portal.web import PortalRoute, checked_form, logged_in, redirect, render, translator

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
PAGE = "/portal/documents"
KINDS = ("invoice", "credit_note", "statement")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@router.get(PAGE)
async def documents(request: Request, principal: Principal = Depends(logged_in)):
    kind = request.query_params.get("kind")
    kind = kind if kind in KINDS else None
    account, listing = await with_account(
        request, principal, fetch(request, ListDocuments(tenant_id=principal.tenant_id, kind=kind))
    )
    t = translator(request, account.locale if account else None)
    return render(
        request,
        "portal/documents.html",
        principal=principal,
        t=t,
        account=account,
        listing=listing,
        kind=kind,
        kinds=KINDS,
    )


@router.post(PAGE + "/statements")
async def request_statement(request: Request, principal: Principal = Depends(logged_in)):
    form = await checked_form(request, principal)
    month = str(form.get("month", "")).strip()
    if not MONTH.match(month):
        return redirect(PAGE, flash="tx.bad_month", kind="error")
    try:
        await ask(request, RequestStatement(tenant_id=principal.tenant_id, month=month), timeout=15)
    except ServiceError as exc:
        if exc.code == "unavailable":
            raise
        return redirect(PAGE, flash="flash.error", kind="error", detail=exc.message)
    return redirect(PAGE + "?kind=statement", flash="flash.statement")
