"""/portal/transactions — newest first, paginated by cursor, filtered by kind and month; CSV export."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, Depends, Request

from contracts.billing.v1 import ENTRY_KINDS, ListTransactions
from runtime.calendar import Calendar
from services.gateway import transactions_csv
from services.gateway.api.deps import Principal, state
from services.gateway.api.rpc import ask
from services.gateway.portal.data import fetch, with_account
from services.gateway.portal.web import PortalRoute, logged_in, render, translator

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
KINDS = ENTRY_KINDS
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _filters(request: Request) -> tuple[str | None, str | None, bool]:
    kind = request.query_params.get("kind") or None
    month = request.query_params.get("month") or None
    bad_month = month is not None and not MONTH.match(month)
    return (kind if kind in KINDS else None), (None if bad_month else month), bad_month


def _month_range(month: str | None, timezone: str) -> tuple[datetime | None, datetime | None]:
    if not month:
        return None, None
    return Calendar(timezone).month_bounds(month)


def _query(request: Request, principal: Principal, *, limit: int, cursor: str | None) -> ListTransactions:
    kind, month, _ = _filters(request)
    since, until = _month_range(month, state(request).settings.timezone)
    return ListTransactions(
        tenant_id=principal.tenant_id, limit=limit, cursor=cursor, kind=kind, since=since, until=until
    )


@router.get("/portal/transactions")
async def transactions(request: Request, principal: Principal = Depends(logged_in)):
    cursor = request.query_params.get("cursor") or None
    cursor = cursor[:200] if cursor else None
    account, page = await with_account(
        request, principal, fetch(request, _query(request, principal, limit=25, cursor=cursor))
    )
    t = translator(request, account.locale if account else None)
    kind, month, bad_month = _filters(request)
    return render(
        request,
        "portal/transactions.html",
        principal=principal,
        t=t,
        account=account,
        page=page,
        kind=kind,
        month=month or "",
        bad_month=bad_month,
        kinds=KINDS,
        paged=bool(cursor),
        filter_query=_filter_query(kind, month),
    )


def _filter_query(kind: str | None, month: str | None) -> str:
    parts = [f"kind={kind}" if kind else "", f"month={month}" if month else ""]
    return "&".join(p for p in parts if p)


@router.get("/portal/transactions.csv")
async def transactions_csv_export(request: Request, principal: Principal = Depends(logged_in)):
    """The page's filter (kind, month) as CSV, in the account's number format."""
    kind, month, _ = _filters(request)
    since, until = _month_range(month, state(request).settings.timezone)
    first = transactions_csv.query(principal.tenant_id, since=since, until=until, kind=kind)
    account, page = await with_account(request, principal, ask(request, first))
    body = transactions_csv.rows(
        lambda q: ask(request, q),
        first,
        page,
        locale=account.locale if account else "de",
        calendar=Calendar(state(request).settings.timezone),
    )
    return transactions_csv.response(body, f"transactions-{month or 'all'}.csv")
