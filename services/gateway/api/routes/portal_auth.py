"""Portal login, logout and the session cookie (API.md "Portal (HTML)").

The login form is protected by a signed double-submit token (`login_csrf`); once logged in, the
session's own CSRF token protects every state-changing request. Passwords are checked with argon2
in `password_checks` (worker threads within a memory budget), so a login never stalls the event
loop that serves the live streams, nor a burst of them the process's memory.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader

from services.gateway import credentials, login_csrf
from services.gateway.api.deps import SESSION_COOKIE, client_ip, cross_site, csrf_matches, principal_or_none, state
from services.gateway.api.errors import ApiError
from services.gateway.password_checks import PasswordChecksBusy

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
TEXT = {
    "de": {
        "title": "Anmelden",
        "email": "E-Mail",
        "password": "Passwort",
        "submit": "Anmelden",
        "wrong": "E-Mail oder Passwort ist falsch.",
        "csrf": "Das Formular ist abgelaufen. Bitte erneut senden.",
        "limited": "Zu viele Versuche. Bitte kurz warten.",
        "forgot": "Passwort vergessen?",
        "busy": "Gerade melden sich sehr viele an. Bitte in einem Moment erneut versuchen.",
        "password_changed": "Ihr Passwort wurde geändert. Bitte melden Sie sich mit dem neuen Passwort an.",
    },
    "en": {
        "title": "Log in",
        "email": "Email",
        "password": "Password",
        "submit": "Log in",
        "wrong": "Wrong email or password.",
        "csrf": "The form has expired. Please submit it again.",
        "limited": "Too many attempts. Please wait a moment.",
        "forgot": "Forgot password?",
        "busy": "Very many people are logging in right now. Please try again in a moment.",
        "password_changed": "Your password has been changed. Please log in with the new password.",
    },
}
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}
NOTICE_COOKIE = "pp_login_notice"  # a one-time notice on the login page, e.g. after a password reset
NOTICES = ("password_changed",)

router = APIRouter(include_in_schema=False)
placeholder = APIRouter(include_in_schema=False)  # GET / until the portal's dashboard replaces it


def _lang(request: Request) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get("pp_lang")):
        if candidate in TEXT:
            return candidate
    return "en" if request.headers.get("accept-language", "").lower().startswith("en") else "de"


def login_page(
    request: Request, *, status: int = 200, error: str | None = None, email: str = "", headers: dict | None = None
) -> HTMLResponse:
    """The form with a fresh signed token and its cookie."""
    lang = _lang(request)
    nonce = login_csrf.new_nonce()
    token = login_csrf.token_for(login_csrf.signing_key(state(request).settings), nonce)
    notice = request.cookies.get(NOTICE_COOKIE)
    body = env.get_template("login.html").render(
        lang=lang,
        text=TEXT[lang],
        error=TEXT[lang].get(error or ""),
        notice=TEXT[lang][notice] if notice in NOTICES else None,
        email=email,
        form_token=token,
    )
    response = HTMLResponse(body, status_code=status, headers={**HEADERS, **(headers or {})})
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/login")
    response.set_cookie(
        login_csrf.COOKIE, nonce, max_age=login_csrf.MAX_AGE_S, path="/login", httponly=True, samesite="lax"
    )
    return response


@router.get("/login")
async def get_login(request: Request) -> Response:
    principal = await principal_or_none(request)
    if principal is not None and principal.via == "session":
        return RedirectResponse("/", status_code=303)
    return login_page(request)


@router.post("/login")
async def post_login(request: Request) -> Response:
    gw = state(request)
    try:
        await gw.limiter.check(f"ip:{client_ip(request)}")
    except ApiError as exc:
        return login_page(request, status=429, error="limited", headers=exc.headers)
    form = await request.form()
    email = str(form.get("email") or "")[:320]
    password = str(form.get("password") or "")[:1024]
    key = login_csrf.signing_key(gw.settings)
    if cross_site(request) or not login_csrf.valid(
        key, request.cookies.get(login_csrf.COOKIE), str(form.get("csrf_token") or "")
    ):
        return login_page(request, status=403, error="csrf", email=email)
    async with gw.db.sessions() as session:
        user = await credentials.find_user(session, email) if email else None
    try:
        matches = await gw.password_checks.verify(user.password_hash if user else None, password)
    except PasswordChecksBusy as exc:
        return login_page(
            request, status=503, error="busy", email=email, headers={"Retry-After": str(exc.retry_after_s)}
        )
    if user is None or not password or not matches:
        return login_page(request, status=401, error="wrong", email=email)
    async with gw.db.transaction() as session:
        token, _ = await credentials.open_session(session, user=user, ttl_s=gw.settings.session_ttl_s)
    response = RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE, token, max_age=gw.settings.session_ttl_s, path="/", httponly=True, samesite="lax"
    )
    response.delete_cookie(login_csrf.COOKIE, path="/login")
    return response


@router.post("/logout")
async def post_logout(request: Request) -> Response:
    principal = await principal_or_none(request)
    if principal is None or principal.via != "session":
        return RedirectResponse("/login", status_code=303)
    if cross_site(request) or not await csrf_matches(request, principal.csrf_token):
        return HTMLResponse(
            "<!doctype html><title>403</title><p>Forbidden: missing or invalid CSRF token.</p>",
            status_code=403,
            headers=HEADERS,
        )
    gw = state(request)
    async with gw.db.transaction() as session:
        await credentials.close_session(session, request.cookies[SESSION_COOKIE])
    await gw.revocations.announce([principal.credential])  # its open streams end, on every replica
    response = RedirectResponse("/login", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@placeholder.get("/")
async def home(request: Request) -> Response:
    principal = await principal_or_none(request)
    if principal is None or principal.via != "session":
        return RedirectResponse("/login", status_code=303)
    body = env.from_string(
        '<!doctype html><html><head><meta charset="utf-8"><meta name="csrf-token" content="{{ csrf }}">'
        "<title>Portal</title></head><body><main><h1>Portal</h1>"
        '<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf }}">'
        '<button type="submit">Logout</button></form></main></body></html>'
    ).render(csrf=principal.csrf_token)
    return HTMLResponse(body, headers=HEADERS)
