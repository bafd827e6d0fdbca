"""Password reset pages (issue 10): ask for a link by email, then set a new password with it.

`POST /password-reset` gives the same answer, in the same time, whether or not the address belongs
to a login (no account enumeration): the request is queued and worked off after the answer
(`reset_requests`). Notify mails the link (`PasswordResetIssued`, then `GetPasswordResetLink`). The
link carries its token in the URL fragment, never in a path or query that servers and proxies log;
`/password-reset/new` posts it in the form. Both forms carry a signed double-submit token like the
login form, and the pages send no Referer.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.gateway import login_csrf, password_reset, revocations
from services.gateway.api.deps import SESSION_COOKIE, client_ip, cross_site, state
from services.gateway.api.errors import ApiError
from services.gateway.api.routes.portal_auth import HEADERS, NOTICE_COOKIE, _lang, env
from services.gateway.password_checks import PasswordChecksBusy
from services.gateway.portal.i18n import Translator

router = APIRouter(include_in_schema=False)
PATH = "/password-reset"
NEW_PASSWORD = password_reset.NEW_PASSWORD_PATH
CSRF_COOKIE = "pp_reset_csrf"


def _page(
    request: Request, template: str, *, status: int = 200, headers: dict | None = None, **context
) -> HTMLResponse:
    """A reset page with a fresh signed form token and its cookie."""
    lang = _lang(request)
    nonce = login_csrf.new_nonce()
    token = login_csrf.token_for(login_csrf.signing_key(state(request).settings), nonce)
    body = env.get_template(template).render(lang=lang, t=Translator(lang), form_token=token, **context)
    response = HTMLResponse(
        body, status_code=status, headers={**HEADERS, "Referrer-Policy": "no-referrer", **(headers or {})}
    )
    response.set_cookie(CSRF_COOKIE, nonce, max_age=login_csrf.MAX_AGE_S, path=PATH, httponly=True, samesite="lax")
    return response


def _form_ok(request: Request, form) -> bool:
    key = login_csrf.signing_key(state(request).settings)
    return not cross_site(request) and login_csrf.valid(
        key, request.cookies.get(CSRF_COOKIE), str(form.get("csrf_token") or "")
    )


async def _limited(request: Request) -> dict | None:
    """Per-IP limit, like the login form: the Retry-After headers when exceeded."""
    try:
        await state(request).limiter.check(f"ip:{client_ip(request)}")
    except ApiError as exc:
        return exc.headers or {}
    return None


@router.get(PATH)
async def get_request_form(request: Request) -> Response:
    return _page(request, "password_reset.html", email="")


@router.post(PATH)
async def post_request_form(request: Request) -> Response:
    if (retry := await _limited(request)) is not None:
        return _page(request, "password_reset.html", status=429, headers=retry, error="reset.limited", email="")
    form = await request.form()
    email = str(form.get("email") or "")[:320]
    if not _form_ok(request, form):
        return _page(request, "password_reset.html", status=403, error="reset.csrf", email=email)
    # Queued, not done here: the work a known address causes must not show in the answer's timing.
    state(request).reset_requests.submit(email=email, locale=_lang(request))
    return _page(request, "password_reset.html", sent=True)  # the same answer for any address


def _new_password_page(
    request: Request, token: str = "", *, status: int = 200, error: str | None = None, headers: dict | None = None
) -> HTMLResponse:
    return _page(
        request,
        "password_reset_new.html",
        status=status,
        headers=headers,
        error=error,
        invalid=error == "reset.invalid",
        action=NEW_PASSWORD,
        token=token,
    )


@router.get(NEW_PASSWORD)
async def get_new_password_form(request: Request) -> Response:
    """The link's token is in the fragment: the page's script puts it into the form (static/password_reset.js)."""
    return _new_password_page(request)


@router.post(NEW_PASSWORD)
async def post_new_password(request: Request) -> Response:
    if (retry := await _limited(request)) is not None:
        return _new_password_page(request, status=429, error="reset.limited", headers=retry)
    form = await request.form()
    token = str(form.get("token") or "")[:100]
    if not _form_ok(request, form):
        return _new_password_page(request, token, status=403, error="reset.csrf")
    gw = state(request)
    async with gw.db.sessions() as session:
        if not await password_reset.usable(session, token):
            return _new_password_page(request, status=400, error="reset.invalid")
    password = str(form.get("password") or "")[:1024]
    problem = password_reset.password_problem(password, str(form.get("password_repeat") or "")[:1024])
    if problem:
        return _new_password_page(request, token, status=422, error=problem)
    try:
        hashed = await gw.password_checks.hash(password)
    except PasswordChecksBusy as exc:
        return _new_password_page(
            request, token, status=503, error="reset.busy", headers={"Retry-After": str(exc.retry_after_s)}
        )
    async with gw.db.transaction() as session:
        ended = await password_reset.complete_reset(session, token, password_hash=hashed)
    if ended is None:  # spent by a concurrent submission meanwhile
        return _new_password_page(request, status=400, error="reset.invalid")
    await gw.revocations.announce(revocations.session(token_hash) for token_hash in ended)
    response = RedirectResponse(
        "/login", status_code=303, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )
    response.set_cookie(NOTICE_COOKIE, "password_changed", max_age=120, path="/login", httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path=PATH)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
