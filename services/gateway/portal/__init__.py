"""The customer portal: server-rendered pages (Jinja2, German and English) over the gateway's services.

`router` holds every page; `static_app()` serves CSS and scripts from services/gateway/static (no CDN).
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from services.gateway.portal.pages import (
    account,
    auto_topup,
    dashboard,
    documents,
    notifications,
    payment_methods,
    topup,
    transactions,
)

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)
for _page in (dashboard, transactions, topup, payment_methods, auto_topup, documents, notifications, account):
    router.include_router(_page.router)


def static_app() -> StaticFiles:
    return StaticFiles(directory=STATIC)


__all__ = ["router", "static_app"]
