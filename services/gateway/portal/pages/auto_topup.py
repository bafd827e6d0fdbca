"""/portal/auto-topup — the rule (threshold, amount, monthly limit), its state and failures, re-enabling."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from contracts.billing.v1 import GetAutoTopup, UpdateAutoTopup
from runtime.messaging import ServiceError
from services.gateway.api.deps import Principal, state
from services.gateway.api.rpc import ask
from services.gateway.portal.data import fetch, with_account
from services.gateway.portal.money import parse_euros
from services.gateway.portal.web import PortalRoute, checked_form, logged_in, redirect, render, translator

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
PAGE = "/portal/auto-topup"
FIELDS = ("threshold", "amount", "monthly_limit")


@router.get(PAGE)
async def settings_page(request: Request, principal: Principal = Depends(logged_in)):
    account, rule = await with_account(request, principal, fetch(request, GetAutoTopup(tenant_id=principal.tenant_id)))
    t = translator(request, account.locale if account else None)
    values = {f: t.euros_input(getattr(rule, f + "_cents")) for f in FIELDS} if rule else {}
    return render(
        request,
        "portal/auto_topup.html",
        principal=principal,
        t=t,
        account=account,
        rule=rule,
        values=values,
        enabled=bool(rule and rule.enabled),
        errors={},
    )


@router.post(PAGE)
async def save(request: Request, principal: Principal = Depends(logged_in)):
    form = await checked_form(request, principal)
    values = {f: str(form.get(f, "")).strip()[:20] for f in FIELDS}
    enabled = form.get("enabled") == "on" or form.get("reenable") == "1"
    account, rule = await with_account(request, principal, fetch(request, GetAutoTopup(tenant_id=principal.tenant_id)))
    t = translator(request, account.locale if account else None)
    cents, errors = _validate(request, values, t)
    if not errors:
        try:
            await ask(
                request,
                UpdateAutoTopup(
                    tenant_id=principal.tenant_id,
                    enabled=enabled,
                    threshold_cents=cents["threshold"],
                    amount_cents=cents["amount"],
                    monthly_limit_cents=cents["monthly_limit"],
                ),
            )
            return redirect(PAGE, flash="flash.saved")
        except ServiceError as exc:
            if exc.code == "conflict":
                errors["enabled"] = t("at.err.no_card")
            elif exc.code == "validation_error":
                errors["form"] = exc.message
            else:
                raise
    return render(
        request,
        "portal/auto_topup.html",
        principal=principal,
        t=t,
        account=account,
        rule=rule,
        values=values,
        enabled=enabled,
        errors=errors,
        status=400,
    )


def _validate(request: Request, values: dict[str, str], t) -> tuple[dict[str, int], dict[str, str]]:
    settings = state(request).settings
    low, high = getattr(settings, "topup_min_cents", 1000), getattr(settings, "topup_max_cents", 1_000_000)
    cents, errors = {}, {}
    for field, text in values.items():
        amount = parse_euros(text)
        if amount is None:
            errors[field] = t("at.err.positive") if text.startswith("-") else t("at.err.number")
        else:
            cents[field] = amount
    if "amount" in cents and not low <= cents["amount"] <= high:
        errors["amount"] = t("at.err.amount", min=t.money(low), max=t.money(high))
    if "amount" in cents and "monthly_limit" in cents and cents["monthly_limit"] < cents["amount"]:
        errors["monthly_limit"] = t("at.err.limit")
    return cents, errors
