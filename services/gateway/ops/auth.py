"""/ops/login and /ops/logout: the admin token, posted once in a form, exchanged for a console session.

The login form carries a signed double-submit token (`login_csrf`, with a key of its own so the
portal's login form cannot stand in for it). The token is compared like the admin API's Bearer token
and its failures count against the same per-client limit; every login attempt also counts against the
client's address as a portal login does. The token never travels in a URL and is never rendered.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from services.gateway import keys, login_csrf
from services.gateway.api.deps import admin_token_matches, client_ip, cross_site, state
from services.gateway.api.errors import ApiError
from services.gateway.ops import sessions
from services.gateway.ops.sessions import Operator
from services.gateway.ops.web import OpsRoute, checked_form, logged_in, operator_or_none, redirect, render, translator

router = APIRouter(route_class=OpsRoute, include_in_schema=False)
LOGIN = "/ops/login"
LOGIN_CSRF_COOKIE = "pp_ops_login_csrf"


def _signing_key(request: Request) -> bytes:
    return keys.derived_key(state(request).settings, "ops-login-csrf")


def login_page(request: Request, *, status: int = 200, error: str | None = None, headers: dict | None = None):
    nonce = login_csrf.new_nonce()
    response = render(
        request,
        "ops/login.html",
        operator=None,
        t=translator(request),
        status=status,
        error=error,
        form_token=login_csrf.token_for(_signing_key(request), nonce),
    )
    response.headers.update(headers or {})
    response.set_cookie(
        LOGIN_CSRF_COOKIE, nonce, max_age=login_csrf.MAX_AGE_S, path=LOGIN, httponly=True, samesite="strict"
    )
    return response


@router.get(LOGIN)
async def get_login(request: Request) -> Response:
    if await operator_or_none(request) is not None:
        return RedirectResponse("/ops", status_code=303)
    return login_page(request)


@router.post(LOGIN)
async def post_login(request: Request) -> Response:
    gw = state(request)
    try:
        await gw.limiter.check(f"ip:{client_ip(request)}")
        form = await request.form()
        if cross_site(request) or not login_csrf.valid(
            _signing_key(request), request.cookies.get(LOGIN_CSRF_COOKIE), str(form.get("csrf_token") or "")
        ):
            return login_page(request, status=403, error="ops.login.csrf")
        if not await admin_token_matches(request, str(form.get("token") or "")[:1024]):
            return login_page(request, status=401, error="ops.login.wrong")
    except ApiError as exc:
        if exc.status != 429:
            raise
        return login_page(request, status=429, error="ops.login.limited", headers=exc.headers)
    async with gw.db.transaction() as session:
        token, _ = await sessions.open_session(
            session, admin_token=gw.settings.gateway_admin_token, ttl_s=gw.settings.ops_session_ttl_s
        )
    response = RedirectResponse("/ops", status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        sessions.COOKIE, token, max_age=gw.settings.ops_session_ttl_s, path="/", httponly=True, samesite="strict"
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN)
    return response


@router.post("/ops/logout")
async def post_logout(request: Request, operator: Operator = Depends(logged_in)) -> Response:
    await checked_form(request, operator)
    async with state(request).db.transaction() as session:
        await sessions.close_session(session, request.cookies[sessions.COOKIE])
    response = redirect(LOGIN, flash="ops.logged_out")
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict")
    return response
