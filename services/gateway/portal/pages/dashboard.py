"""GET / — balance (live over SSE) with its paid/promotional split, runway, usage per day, promotional
grants, recent transactions and alerts."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request

from contracts.base import utcnow
from contracts.billing.v1 import GetAutoTopup, GetDashboard, ListGrants, ListTransactions
from contracts.portal.catalog import DASHBOARD_ALERTS
from services.gateway.api.deps import Principal
from services.gateway.portal.chart import usage_bars
from services.gateway.portal.data import fetch, with_account
from services.gateway.portal.web import PortalRoute, logged_in, render, translator

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


@router.get("/")
async def dashboard(request: Request, principal: Principal = Depends(logged_in)):
    tenant_id = principal.tenant_id
    account, board, recent, auto, grants = await with_account(
        request,
        principal,
        fetch(request, GetDashboard(tenant_id=tenant_id, days=30)),
        fetch(request, ListTransactions(tenant_id=tenant_id, limit=10)),
        fetch(request, GetAutoTopup(tenant_id=tenant_id), timeout=2),
        fetch(request, ListGrants(tenant_id=tenant_id), timeout=2),
    )
    t = translator(request, account.locale if account else None)
    threshold = account.low_balance_threshold_cents if account else None
    return render(
        request,
        "portal/dashboard.html",
        principal=principal,
        t=t,
        account=account,
        board=board,
        bars=usage_bars(board.usage_by_day) if board else [],
        recent=recent,
        grants=_grants(grants, utcnow()) if grants else grants,
        alerts=_alerts(board, auto, threshold, t),
        threshold=threshold,
        alert_types=DASHBOARD_ALERTS,
    )


def _alerts(board, auto, threshold: int | None, t) -> list[dict]:
    alerts = []
    if board and board.balance_cents <= 0 and (board.balance_cents < 0 or board.usage_30d_cents > 0):
        alerts.append(
            {"type": "balance.depleted", "text": t("alert.balance.depleted", balance=t.money(board.balance_cents))}
        )
    elif board and threshold is not None and board.balance_cents < threshold and board.usage_30d_cents > 0:
        alerts.append({"type": "balance.low", "text": t("alert.balance.low", balance=t.money(board.balance_cents))})
    if auto and auto.state == "paused" and auto.action_url:
        alerts.append({"type": "autotopup.paused", "text": t("alert.autotopup.paused"), "url": auto.action_url})
    elif auto and auto.disabled_reason and not auto.enabled:
        alerts.append(
            {"type": "autotopup.disabled", "text": t("alert.autotopup.disabled", reason=auto.disabled_reason)}
        )
    elif auto and auto.consecutive_failures:
        alerts.append(
            {"type": "autotopup.failed", "text": t("alert.autotopup.failed", reason=auto.disabled_reason or "–")}
        )
    return alerts


def _grants(reply, now: datetime) -> list[dict]:
    """Open grants in the order usage draws from them (API.md), then the ended ones, newest first."""
    far = datetime.max.replace(tzinfo=UTC)
    rows = []
    for grant in reply.items:
        expired = grant.expires_at is not None and grant.expires_at <= now
        state = "open" if grant.remaining_cents > 0 and not expired else ("expired" if expired else "ended")
        rows.append({"grant": grant, "state": state})
    open_ = sorted(
        (r for r in rows if r["state"] == "open"),
        key=lambda r: (r["grant"].priority, r["grant"].expires_at or far, r["grant"].created_at),
    )
    ended = sorted((r for r in rows if r["state"] != "open"), key=lambda r: r["grant"].created_at, reverse=True)
    return open_ + ended
