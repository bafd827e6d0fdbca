"""/portal/account — the billing profile printed on documents, and which e-invoice the tenant receives
(EN 16931, or XRechnung with the public buyer's Leitweg-ID)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from contracts.billing.v1 import GetAccount, UpdateAccount
from runtime.messaging import ServiceError
from services.gateway.api.deps import Principal
from services.gateway.api.rpc import ask
from services.gateway.portal.data import fetch
from services.gateway.portal.web import PortalRoute, checked_form, logged_in, redirect, render, translator

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
PAGE = "/portal/account"
TEXT_FIELDS = ("name", "email", "phone", "vat_id", "buyer_reference")
ADDRESS_FIELDS = ("line1", "postal_code", "city")
PROFILES = ("en16931", "xrechnung")


@router.get(PAGE)
async def account_page(request: Request, principal: Principal = Depends(logged_in)):
    account = await fetch(request, GetAccount(tenant_id=principal.tenant_id))
    profile = account.profile if account else None
    t = translator(request, profile.locale if profile else None)
    return render(
        request,
        "portal/account.html",
        principal=principal,
        t=t,
        account=profile,
        values=_values(profile),
        profiles=PROFILES,
        error=None,
    )


@router.post(PAGE)
async def save(request: Request, principal: Principal = Depends(logged_in)):
    form = await checked_form(request, principal)
    values = {name: str(form.get(name, "")).strip()[:200] for name in (*TEXT_FIELDS, *ADDRESS_FIELDS)}
    values["einvoice_profile"] = form.get("einvoice_profile") if form.get("einvoice_profile") in PROFILES else "en16931"
    changes = {name: values[name] or None for name in ("phone", "vat_id", "buyer_reference")}
    changes.update(
        name=values["name"],
        email=values["email"],
        einvoice_profile=values["einvoice_profile"],
        address={name: values[name] for name in ADDRESS_FIELDS},
    )
    try:
        await ask(request, UpdateAccount(tenant_id=principal.tenant_id, changes=changes))
        return redirect(PAGE, flash="flash.saved")
    except ServiceError as exc:
        if exc.code != "validation_error":
            raise
        account = await fetch(request, GetAccount(tenant_id=principal.tenant_id))
        t = translator(request, account.profile.locale if account else None)
        return render(
            request,
            "portal/account.html",
            principal=principal,
            t=t,
            account=account.profile if account else None,
            values=values,
            profiles=PROFILES,
            error=exc.message,
            status=400,
        )


def _values(profile) -> dict[str, str]:
    if profile is None:
        return {}
    values = {name: getattr(profile, name) or "" for name in TEXT_FIELDS}
    values.update({name: getattr(profile.address, name) or "" for name in ADDRESS_FIELDS})
    values["einvoice_profile"] = profile.einvoice_profile
    return values
