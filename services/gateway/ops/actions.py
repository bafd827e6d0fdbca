"""The operator's actions on a tenant: adjust, grant, void a grant, refund a top-up.

Each is two POSTs: `…/confirm` checks the form and shows what will happen, the confirmed form carries
out the admin API's own operation (`admin.adjust_balance`, `grant_credit`, `void`, `refunds.refund_payment`)
and answers with a flash on the tenant's page. The idempotency key is made when the tenant's page
renders its form and travels through the confirmation, so the same confirmed form sent twice has one
effect. A grant or top-up id that is not this tenant's answers 404, whatever it names elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ValidationError

from contracts.billing.v1 import GRANT_DEFAULT_PRIORITY
from contracts.payments.v1 import GetTopup
from runtime.messaging import ServiceError, ServiceUnavailable
from services.gateway.api.routes.admin import adjust_balance, grant_credit, grants_of, void
from services.gateway.api.routes.refunds import refund_payment
from services.gateway.api.routes.tenant_overview import tenant_account
from services.gateway.api.rpc import ask
from services.gateway.api.schemas import AdjustmentIn, GrantIn, RefundIn
from services.gateway.ops.sessions import Operator
from services.gateway.ops.web import NotFound, OpsRoute, checked_form, logged_in, redirect, render, translator
from services.gateway.portal.i18n import Translator
from services.gateway.portal.money import parse_euros

TENANT = "/ops/tenants/{tenant_id}"
KEY = re.compile(r"^[A-Za-z0-9_-]{8,100}$")
REFUSALS = ("validation_error", "conflict", "idempotency_conflict")
REFUNDABLE = re.compile(r"the (\d+) that remain refundable")
TOPUP_ID_MAX = 64
Body = TypeVar("Body", bound=BaseModel)


class Invalid(Exception):
    """A form field that is not what the action needs: `key` is the flash text saying so."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(key)
        self.key = key
        self.detail = detail


class ActionRoute(OpsRoute):
    """An invalid form goes back to the tenant's page, saying what is wrong; nothing was done."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def refusing(request: Request) -> Response:
            try:
                return await handler(request)
            except Invalid as exc:
                back = page_of(request.path_params["tenant_id"])
                return redirect(back, flash=exc.key, kind="error", detail=exc.detail)

        return refusing


router = APIRouter(route_class=ActionRoute, include_in_schema=False)


@dataclass
class Confirmation:
    action: str
    title: str
    facts: list[tuple[str, str]]
    hidden: dict[str, str] = field(default_factory=dict)
    note: str = ""


def page_of(tenant_id: str) -> str:
    return TENANT.format(tenant_id=tenant_id)


# ---- reading the forms ---------------------------------------------------------------------------


def idempotency_key(form: dict[str, str]) -> str:
    key = form.get("key", "")
    if not KEY.match(key):
        raise Invalid("ops.flash.bad_form")
    return key


def reason_of(form: dict[str, str]) -> str:
    reason = form.get("reason", "").strip()
    if not reason:
        raise Invalid("ops.flash.bad_reason")
    return reason


def euros(text: str | None, *, signed: bool = False) -> int:
    """Cents for a typed amount ("12,50", "-3", "1.000,00 €"), never 0."""
    raw = (text or "").strip().replace("\u2212", "-")
    sign = -1 if signed and raw.startswith("-") else 1
    cents = parse_euros(raw[1:] if signed and raw[:1] in "+-" and raw else raw)
    if not cents:
        raise Invalid("ops.flash.bad_amount")
    return sign * cents


def cents_field(form: dict[str, str], name: str) -> int:
    try:
        return int(form.get(name, ""))
    except ValueError:
        raise Invalid("ops.flash.bad_form") from None


def expiry(text: str | None, timezone: str) -> datetime | None:
    """`<input type=datetime-local>` ("2027-01-31T18:00") in the gateway's time zone; "" for none."""
    if not (text or "").strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())  # type: ignore[union-attr]
    except ValueError:
        raise Invalid("ops.flash.bad_expiry") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def priority(text: str | None) -> int:
    raw = (text or "").strip()
    if not raw:
        return GRANT_DEFAULT_PRIORITY
    if not raw.isdigit():
        raise Invalid("ops.flash.bad_priority")
    return int(raw)


def valid(model: type[Body], **fields) -> Body:
    """The admin API's own request body, with its limits; outside them the form is refused."""
    try:
        return model(**fields)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise Invalid("ops.flash.refused", detail) from None


async def topup_of(request: Request, tenant_id: str, topup_id: str):
    """The tenant's own top-up (payments answers not_found for another tenant's)."""
    if not topup_id or len(topup_id) > TOPUP_ID_MAX:
        raise NotFound
    return (await ask(request, GetTopup(tenant_id=tenant_id, topup_id=topup_id))).topup


async def grant_of(request: Request, tenant_id: str, grant_id: str):
    for grant in (await grants_of(request, tenant_id=tenant_id)).items:
        if grant.id == grant_id:
            return grant
    raise NotFound


def confirm_page(request: Request, operator: Operator, t: Translator, tenant, confirmation: Confirmation):
    return render(request, "ops/confirm.html", operator=operator, t=t, tenant=tenant, c=confirmation)


async def carried_out(
    tenant_id: str, t: Translator, operation, done_flash: str, detail, *, again_flash: str = "ops.flash.again"
) -> object:
    """Run the confirmed operation; a refusal by the owning service becomes a readable flash."""
    try:
        made, created = await operation
    except ServiceUnavailable:
        raise
    except ServiceError as exc:
        if exc.code not in REFUSALS:
            raise
        if found := REFUNDABLE.search(exc.message):
            return redirect(page_of(tenant_id), flash="ops.flash.too_much", kind="error", detail=t.money(int(found[1])))
        return redirect(page_of(tenant_id), flash="ops.flash.refused", kind="error", detail=exc.message)
    return redirect(page_of(tenant_id), flash=done_flash if created else again_flash, detail=detail(made))


# ---- adjust --------------------------------------------------------------------------------------


@router.post(TENANT + "/adjustments/confirm")
async def confirm_adjustment(tenant_id: str, request: Request, operator: Operator = Depends(logged_in)):
    form = await checked_form(request, operator)
    t = translator(request)
    tenant = await tenant_account(request, tenant_id=tenant_id)
    amount, reason, key = euros(form.get("amount"), signed=True), reason_of(form), idempotency_key(form)
    return confirm_page(
        request,
        operator,
        t,
        tenant,
        Confirmation(
            action=page_of(tenant_id) + "/adjustments",
            title=t("ops.confirm.adjust", tenant=tenant.name),
            facts=[(t("amount"), t.money(amount)), (t("ops.reason"), reason)],
            hidden={"amount_cents": str(amount), "reason": reason, "key": key},
            note=t("ops.confirm.customer_sees"),
        ),
    )


@router.post(TENANT + "/adjustments")
async def adjust(tenant_id: str, request: Request, operator: Operator = Depends(logged_in)):
    form = await checked_form(request, operator)
    t = translator(request)
    key = idempotency_key(form)
    body = valid(AdjustmentIn, amount_cents=cents_field(form, "amount_cents"), reason=reason_of(form))
    operation = adjust_balance(request, tenant_id=tenant_id, body=body, key=key)
    return await carried_out(tenant_id, t, operation, "ops.flash.adjusted", lambda made: t.money(made.amount_cents))


# ---- grant ---------------------------------------------------------------------------------------


@router.post(TENANT + "/grants/confirm")
async def confirm_grant(tenant_id: str, request: Request, operator: Operator = Depends(logged_in)):
    form = await checked_form(request, operator)
    t = translator(request)
    tenant = await tenant_account(request, tenant_id=tenant_id)
    amount, reason, key = euros(form.get("amount")), reason_of(form), idempotency_key(form)
    expires_at, rank = expiry(form.get("expires_at"), t.tz.key), priority(form.get("priority"))
    return confirm_page(
        request,
        operator,
        t,
        tenant,
        Confirmation(
            action=page_of(tenant_id) + "/grants",
            title=t("ops.confirm.grant", tenant=tenant.name),
            facts=[
                (t("amount"), t.money(amount)),
                (t("ops.reason"), reason),
                (t("ops.expires"), t.datetime(expires_at) if expires_at else t("ops.never")),
                (t("ops.priority"), str(rank)),
            ],
            hidden={
                "amount_cents": str(amount),
                "reason": reason,
                "expires_at": expires_at.isoformat() if expires_at else "",
                "priority": str(rank),
                "key": key,
            },
            note=t("ops.confirm.customer_sees"),
        ),
    )


@router.post(TENANT + "/grants")
async def grant(tenant_id: str, request: Request, operator: Operator = Depends(logged_in)):
    form = await checked_form(request, operator)
    t = translator(request)
    key = idempotency_key(form)
    body = valid(
        GrantIn,
        amount_cents=cents_field(form, "amount_cents"),
        reason=reason_of(form),
        expires_at=expiry(form.get("expires_at"), t.tz.key),
        priority=priority(form.get("priority")),
    )
    operation = grant_credit(request, tenant_id=tenant_id, body=body, key=key)
    return await carried_out(tenant_id, t, operation, "ops.flash.granted", lambda made: t.money(made.amount_cents))


# ---- void a grant --------------------------------------------------------------------------------


@router.post(TENANT + "/grants/{grant_id}/void/confirm")
async def confirm_void(tenant_id: str, grant_id: str, request: Request, operator: Operator = Depends(logged_in)):
    await checked_form(request, operator)
    t = translator(request)
    tenant = await tenant_account(request, tenant_id=tenant_id)
    chosen = await grant_of(request, tenant_id, grant_id)
    return confirm_page(
        request,
        operator,
        t,
        tenant,
        Confirmation(
            action=f"{page_of(tenant_id)}/grants/{chosen.id}/void",
            title=t("ops.confirm.void", tenant=tenant.name),
            facts=[
                (t("ops.id"), chosen.id),
                (t("ops.reason"), chosen.reason),
                (t("amount"), t.money(chosen.amount_cents)),
                (t("ops.remaining"), t.money(chosen.remaining_cents)),
            ],
        ),
    )


@router.post(TENANT + "/grants/{grant_id}/void")
async def void_grant(tenant_id: str, grant_id: str, request: Request, operator: Operator = Depends(logged_in)):
    await checked_form(request, operator)
    t = translator(request)
    chosen = await grant_of(request, tenant_id, grant_id)
    operation = void(request, grant_id=chosen.id)
    return await carried_out(
        tenant_id,
        t,
        operation,
        "ops.flash.voided",
        lambda _: t.money(chosen.remaining_cents),
        again_flash="ops.flash.void_again",
    )


# ---- refund a top-up -----------------------------------------------------------------------------


@router.post(TENANT + "/refunds/confirm")
async def confirm_refund(tenant_id: str, request: Request, operator: Operator = Depends(logged_in)):
    form = await checked_form(request, operator)
    t = translator(request)
    tenant = await tenant_account(request, tenant_id=tenant_id)
    topup = await topup_of(request, tenant_id, form.get("topup_id", "").strip())
    amount, reason, key = euros(form.get("amount")), reason_of(form), idempotency_key(form)
    return confirm_page(
        request,
        operator,
        t,
        tenant,
        Confirmation(
            action=page_of(tenant_id) + "/refunds",
            title=t("ops.confirm.refund", tenant=tenant.name),
            facts=[
                (t("ops.topup"), f"{topup.id} · {t.money(topup.amount_cents)} · {t('status.' + topup.status)}"),
                (t("amount"), t.money(amount)),
                (t("ops.reason"), reason),
            ],
            hidden={"topup_id": topup.id, "amount_cents": str(amount), "reason": reason, "key": key},
        ),
    )


@router.post(TENANT + "/refunds")
async def refund(tenant_id: str, request: Request, operator: Operator = Depends(logged_in)):
    form = await checked_form(request, operator)
    t = translator(request)
    topup = await topup_of(request, tenant_id, form.get("topup_id", ""))
    key = idempotency_key(form)
    body = valid(RefundIn, amount_cents=cents_field(form, "amount_cents"), reason=reason_of(form))
    operation = refund_payment(request, topup_id=topup.id, body=body, key=key)
    return await carried_out(tenant_id, t, operation, "ops.flash.refunded", lambda _: t.money(body.amount_cents))
