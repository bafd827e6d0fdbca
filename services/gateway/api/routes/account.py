"""The tenant's profile, balance, promotional grants, transactions and dashboard (owned by billing)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from contracts.billing.v1 import (
    ENTRY_KINDS,
    GetAccount,
    GetBalance,
    GetDashboard,
    ListGrants,
    ListTransactions,
    UpdateAccount,
)
from runtime.calendar import Calendar
from services.gateway import transactions_csv
from services.gateway.api.deps import CurrentTenant, state
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.rpc import ask
from services.gateway.api.schemas import Account, AccountPatch, Balance, Dashboard, GrantList, TransactionList

router = APIRouter(prefix="/v1", tags=["account"], responses=COMMON_RESPONSES)


def _account(profile) -> Account:
    return Account(id=profile.tenant_id, **profile.model_dump(exclude={"tenant_id"}))


@router.get("/account", response_model=Account)
async def get_account(tenant_id: CurrentTenant, request: Request) -> Account:
    return _account((await ask(request, GetAccount(tenant_id=tenant_id))).profile)


@router.patch("/account", response_model=Account)
async def patch_account(body: AccountPatch, tenant_id: CurrentTenant, request: Request) -> Account:
    changes = body.model_dump(exclude_unset=True)
    if "address" in changes and changes["address"] is not None:
        changes["address"] = {k: v for k, v in changes["address"].items() if v is not None}
    reply = await ask(request, UpdateAccount(tenant_id=tenant_id, changes=changes))
    return _account(reply.profile)


@router.get("/balance", response_model=Balance)
async def get_balance(tenant_id: CurrentTenant, request: Request) -> Balance:
    reply = await ask(request, GetBalance(tenant_id=tenant_id))
    return Balance(**reply.model_dump())


@router.get("/grants", response_model=GrantList)
async def list_grants(tenant_id: CurrentTenant, request: Request) -> GrantList:
    return GrantList(**(await ask(request, ListGrants(tenant_id=tenant_id))).model_dump())


@router.get("/transactions", response_model=TransactionList)
async def list_transactions(
    tenant_id: CurrentTenant,
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, max_length=200),
    kind: str | None = Query(None, pattern=f"^({'|'.join(ENTRY_KINDS)})$"),
) -> TransactionList:
    reply = await ask(request, ListTransactions(tenant_id=tenant_id, limit=limit, cursor=cursor, kind=kind))
    return TransactionList(**reply.model_dump())


@router.get("/dashboard", response_model=Dashboard)
async def get_dashboard(tenant_id: CurrentTenant, request: Request) -> Dashboard:
    return Dashboard(**(await ask(request, GetDashboard(tenant_id=tenant_id))).model_dump())


@router.get(
    "/transactions.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 with BOM, `;`-separated"}},
)
async def transactions_as_csv(
    tenant_id: CurrentTenant,
    request: Request,
    first_day: date | None = Query(None, alias="from", description="first day (inclusive, in TIMEZONE)"),
    last_day: date | None = Query(None, alias="to", description="last day (inclusive, in TIMEZONE)"),
    locale: Literal["de", "en"] | None = Query(None, description="number format; default the account's locale"),
) -> StreamingResponse:
    if first_day and last_day and first_day > last_day:
        raise ApiError(400, "validation_error", "from is after to")
    calendar = Calendar(state(request).settings.timezone)
    locale = locale or (await ask(request, GetAccount(tenant_id=tenant_id))).profile.locale
    since, until = transactions_csv.days(calendar, first_day, last_day)
    first = transactions_csv.query(tenant_id, since=since, until=until)
    body = transactions_csv.rows(
        lambda q: ask(request, q), first, await ask(request, first), locale=locale, calendar=calendar
    )
    return transactions_csv.response(body, f"transactions-{first_day or 'start'}-{last_day or 'today'}.csv")
