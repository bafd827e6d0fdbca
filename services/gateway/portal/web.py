"""What every portal page needs: who is logged in, CSRF, locale, flash messages and rendering.

Portal routes use `PortalRoute`, which turns "not logged in" into a 303 to /login and a backing
service that does not answer into a "not available" page: a portal page never answers 500.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

import structlog
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader

from runtime.messaging import RequestFailed, ServiceError
from services.gateway.api.deps import Principal, cross_site, csrf_matches, principal_or_none, state
from services.gateway.api.errors import ApiError
from services.gateway.portal.i18n import LANG_COOKIE, Translator, pick_locale

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FLASH_COOKIE = "pp_flash"
log = structlog.get_logger("gateway.portal")

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)


class LoginRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


class PortalRoute(APIRoute):
    """Where "not logged in" goes and which pages answer the rest: the portal's here, the operator
    console's in `ops/web.py` (`login_url`, `error_page`)."""

    login_url = "/login"
    area = "portal"  # of the log event

    def error_page(self, request: Request, status: int, key: str) -> HTMLResponse:
        return error_page(request, status, key)

    def unavailable(self, request: Request, *, reason: str, code: str) -> HTMLResponse:
        """The "not available" page; the customer sees no detail, the operator finds it in the log."""
        log.warning(f"{self.area}.unavailable", method=request.method, path=request.url.path, code=code, reason=reason)
        return self.error_page(request, 503, "unavailable")

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return RedirectResponse(self.login_url, status_code=303, headers={"Cache-Control": "no-store"})
            except CsrfRefused:
                return self.error_page(request, 403, "forbidden")
            except ApiError as exc:
                if exc.status == 503:
                    return self.unavailable(request, reason=exc.message, code=exc.code)
                key = {404: "not_found", 429: "rate_limited"}.get(exc.status, "forbidden")
                return self.error_page(request, exc.status, key)
            except ServiceError as exc:
                if exc.code == "not_found":
                    return self.error_page(request, 404, "not_found")
                return self.unavailable(request, reason=exc.message, code=exc.code)
            except RequestFailed as exc:
                return self.unavailable(request, reason=str(exc), code="no_answer")

        return guarded


async def logged_in(request: Request) -> Principal:
    """The session's principal (API keys do not open portal pages), rate limited like the API."""
    principal = await principal_or_none(request)
    if principal is None or principal.via != "session":
        raise LoginRequired
    await state(request).limiter.check(principal.rate_key)
    return principal


async def checked_form(request: Request, principal: Principal) -> dict[str, str | list[str]]:
    """The posted form, once it is same-site and its `csrf_token` (or X-CSRF-Token) matches the session's."""
    if cross_site(request) or not await csrf_matches(request, principal.csrf_token):
        raise CsrfRefused
    form = await request.form()
    return {key: (form.getlist(key) if len(form.getlist(key)) > 1 else str(form.get(key))) for key in form}


def translator(request: Request, tenant_locale: str | None = None) -> Translator:
    locale = pick_locale(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), tenant_locale)
    return Translator(locale, state(request).settings.timezone)


def render(
    request: Request,
    template: str,
    *,
    principal: Principal | None,
    t: Translator,
    account=None,
    status: int = 200,
    **context,
) -> HTMLResponse:
    return page(
        request,
        template,
        t=t,
        status=status,
        principal=principal,
        csrf_token=principal.csrf_token if principal else "",
        account=account,
        **context,
    )


def page(
    request: Request,
    template: str,
    *,
    t: Translator,
    status: int = 200,
    headers: dict[str, str] | None = None,
    flash_cookie: str = FLASH_COOKIE,
    **context,
) -> HTMLResponse:
    """A page with the flash message left for it (shown once) and the language it was asked in
    remembered; the portal's and the operator console's (`ops/web.py`)."""
    flash = read_flash(request, t, flash_cookie)
    body = env.get_template(template).render(request=request, t=t, flash=flash, path=request.url.path, **context)
    response = HTMLResponse(body, status_code=status, headers=headers or SECURITY_HEADERS)
    if flash:
        response.delete_cookie(flash_cookie, path="/")
    lang = request.query_params.get("lang")
    if lang in ("de", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


def redirect(
    url: str, *, flash: str | None = None, kind: str = "ok", detail: str = "", cookie: str = FLASH_COOKIE
) -> RedirectResponse:
    """303 after a state change, with a flash message shown once on the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            cookie, quote(f"{kind}|{flash}|{detail[:200]}"), max_age=120, httponly=True, samesite="lax", path="/"
        )
    return response


def unavailable(request: Request, *, reason: str, code: str) -> HTMLResponse:
    """The "not available" page; the customer sees no detail, the operator finds it in the log."""
    log.warning("portal.unavailable", method=request.method, path=request.url.path, code=code, reason=reason)
    return error_page(request, 503, "unavailable")


def error_page(request: Request, status: int, key: str) -> HTMLResponse:
    t = translator(request)
    principal_ok = request.cookies.get("pp_session") is not None
    body = env.get_template("portal/error.html").render(
        request=request, t=t, key=key, status=status, logged_in=principal_ok, path=request.url.path
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def read_flash(request: Request, t: Translator, cookie: str = FLASH_COOKIE) -> dict | None:
    """The message `redirect` left for this page, in the page's language (None without one)."""
    raw = request.cookies.get(cookie)
    if not raw:
        return None
    kind, _, rest = unquote(raw).partition("|")
    key, _, detail = rest.partition("|")
    if not t.has(key):
        return None
    return {"kind": "error" if kind == "error" else "ok", "text": t(key, detail=detail) if detail else t(key)}


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
