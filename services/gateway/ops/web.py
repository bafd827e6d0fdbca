"""What every console page needs: the operator's session, CSRF, locale, flash messages and rendering.

Console routes use `OpsRoute`: no session is a 303 to /ops/login, a refused CSRF token a 403 page, an
unknown tenant, grant, top-up or document a 404 page, a backing service that does not answer the
"not available" page. The pieces are the portal's (`portal/web.py`) with the console's own cookies.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from runtime.messaging import ServiceError
from services.gateway.api.deps import cross_site, state
from services.gateway.ops import sessions
from services.gateway.ops.sessions import Operator
from services.gateway.ops.texts import TEXTS
from services.gateway.portal import web as portal_web
from services.gateway.portal.i18n import LANG_COOKIE, Translator, pick_locale
from services.gateway.portal.web import CsrfRefused, LoginRequired, PortalRoute, env

FLASH_COOKIE = "pp_ops_flash"
HEADERS = {**portal_web.SECURITY_HEADERS}
HEADERS["Content-Security-Policy"] += "; form-action 'self'"


class NotFound(ServiceError):
    """An id that names nothing of this tenant (another tenant's grant or top-up too): the 404 page."""

    def __init__(self) -> None:
        super().__init__("not_found", "not found")


class OpsRoute(PortalRoute):
    """The portal's pages' guard, with the console's login and error page."""

    login_url = "/ops/login"
    area = "ops"

    def error_page(self, request: Request, status: int, key: str) -> HTMLResponse:
        return error_page(request, status, key)


async def operator_or_none(request: Request) -> Operator | None:
    token = request.cookies.get(sessions.COOKIE)
    if not token:
        return None
    gw = state(request)
    async with gw.db.sessions() as session:
        return await sessions.operator_for(session, token, admin_token=gw.settings.gateway_admin_token)


async def logged_in(request: Request) -> Operator:
    """The console's session (a dependency of every console page but the login)."""
    operator = await operator_or_none(request)
    if operator is None:
        raise LoginRequired
    return operator


async def checked_form(request: Request, operator: Operator) -> dict[str, str]:
    """The posted form, once it is same-site and its `csrf_token` matches the session's."""
    form = await request.form()
    sent = str(form.get("csrf_token") or "")
    if cross_site(request) or not sent or not hmac.compare_digest(sent.encode(), operator.csrf_token.encode()):
        raise CsrfRefused
    return {key: str(value) for key, value in form.items()}


def translator(request: Request) -> Translator:
    locale = pick_locale(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), None)
    return Translator(locale, state(request).settings.timezone, texts=TEXTS)


def render(
    request: Request, template: str, *, operator: Operator | None, t: Translator, status: int = 200, **context
) -> HTMLResponse:
    csrf_token = operator.csrf_token if operator else ""
    return portal_web.page(
        request,
        template,
        t=t,
        status=status,
        headers=HEADERS,
        flash_cookie=FLASH_COOKIE,
        operator=operator,
        csrf_token=csrf_token,
        **context,
    )


def redirect(url: str, *, flash: str | None = None, kind: str = "ok", detail: str = "") -> RedirectResponse:
    return portal_web.redirect(url, flash=flash, kind=kind, detail=detail, cookie=FLASH_COOKIE)


def error_page(request: Request, status: int, key: str) -> HTMLResponse:
    t = translator(request)
    body = env.get_template("ops/error.html").render(
        t=t, key=key, status=status, operator=None, csrf_token="", flash=None, path=request.url.path
    )
    return HTMLResponse(body, status_code=status, headers=HEADERS)
