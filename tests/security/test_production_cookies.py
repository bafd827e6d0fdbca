"""In production every cookie is Secure, and prefixed so that the browser enforces where it comes from.

Before the fix `APP_ENV=production` did not make the session cookie Secure (only COOKIE_SECURE
did), and the login CSRF, flash, language and new-webhook-secret cookies were never Secure: on any
plain-HTTP request (a redirect, a mixed link) the browser sent them in clear text, and a network
attacker or a sibling subdomain could plant a session cookie of their own.
"""

import contextlib
import uuid

import httpx
from fastapi import FastAPI, Request, Response

from services.gateway.app import build
from services.gateway.config import GatewaySettings
from services.gateway.cookie_policy import CookiePolicy
from tests.security.conftest import ADMIN_TOKEN, form_token
from tests.support.stack import billing, running, tenant_body

EMAIL, PASSWORD = "anna@muster.example", "correct horse battery"


@contextlib.asynccontextmanager
async def production_gateway(nats_url, database_url, new_schema):
    settings = GatewaySettings(
        nats_url=nats_url,
        database_url=database_url,
        db_schema=new_schema("gw"),
        app_env="production",
        port=0,
        gateway_admin_token=ADMIN_TOKEN,
        rate_limit_per_minute=100_000,
    )
    async with (
        running(billing(nats_url, database_url, new_schema("bil"))),
        running(build(settings), serve_http=True) as gw,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}", timeout=10) as http,
    ):
        yield http


def set_cookies(response: httpx.Response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


async def test_every_cookie_is_secure_and_the_session_cookie_host_only(nats_url, database_url, new_schema):
    async with production_gateway(nats_url, database_url, new_schema) as http:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        tenant = (await http.post("/admin/v1/tenants", json=tenant_body(), headers=admin)).json()
        created = await http.post(
            f"/admin/v1/tenants/{tenant['id']}/users", json={"email": EMAIL, "password": PASSWORD}, headers=admin
        )
        assert created.status_code == 201
        seen: list[httpx.Response] = []

        page = await http.get("/login")
        seen.append(page)
        nonce = set_cookies(page)["__Secure-pp_login_csrf"].split(";")[0].split("=", 1)[1]
        login = await http.post(
            "/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": form_token(page.text)},
            headers={"Cookie": f"__Secure-pp_login_csrf={nonce}"},
        )
        seen.append(login)
        assert login.status_code == 303, login.text
        session = set_cookies(login)["__Host-pp_session"]
        assert "Path=/" in session and "Domain" not in session and "HttpOnly" in session
        token = session.split(";")[0].split("=", 1)[1]

        planted = await http.get("/", headers={"Cookie": f"pp_session={token}"})  # no prefix: not ours
        assert planted.status_code == 303 and planted.headers["location"] == "/login"
        logged_in = {"Cookie": f"__Host-pp_session={token}"}
        dashboard = await http.get("/?lang=en", headers=logged_in)
        seen.append(dashboard)
        assert dashboard.status_code == 200 and "__Host-pp_lang" in set_cookies(dashboard)
        csrf = form_token(dashboard.text)
        saved = await http.post(
            "/portal/notifications/phone", data={"phone": "+49 30 1234567", "csrf_token": csrf}, headers=logged_in
        )
        seen.append(saved)
        assert saved.status_code == 303 and "__Host-pp_flash" in set_cookies(saved)

        for response in seen:
            for header in response.headers.get_list("set-cookie"):
                assert "; Secure" in header, header
                assert header.startswith(("__Host-", "__Secure-")), header


async def test_the_operator_consoles_session_is_host_only_secure_and_strict(nats_url, database_url, new_schema):
    async with production_gateway(nats_url, database_url, new_schema) as http:
        page = await http.get("/ops/login")
        nonce_cookie = set_cookies(page)["__Secure-pp_ops_login_csrf"]
        assert "Path=/ops/login" in nonce_cookie and "; Secure" in nonce_cookie and "SameSite=strict" in nonce_cookie
        nonce = nonce_cookie.split(";")[0].split("=", 1)[1]
        login = await http.post(
            "/ops/login",
            data={"token": ADMIN_TOKEN, "csrf_token": form_token(page.text)},
            headers={"Cookie": f"__Secure-pp_ops_login_csrf={nonce}"},
        )
        assert login.status_code == 303, login.text
        session = set_cookies(login)["__Host-pp_ops_session"]
        for attribute in ("Path=/", "HttpOnly", "SameSite=strict", "; Secure"):
            assert attribute in session, session
        assert "Domain" not in session
        token = session.split(";")[0].split("=", 1)[1]
        planted = await http.get("/ops", headers={"Cookie": f"pp_ops_session={token}"})  # no prefix: not ours
        assert planted.status_code == 303 and planted.headers["location"] == "/ops/login"
        assert (await http.get("/ops", headers={"Cookie": f"__Host-pp_ops_session={token}"})).status_code == 200


async def test_a_path_scoped_cookie_gets_the_secure_prefix():
    app = FastAPI()

    @app.get("/portal/notifications")
    async def page(request: Request) -> Response:
        response = Response(request.cookies.get("pp_new_secret", "none"))
        response.set_cookie("pp_new_secret", "whsec_x", max_age=120, httponly=True, path="/portal/notifications")
        return response

    policy = CookiePolicy(app, secure=True, prefixed=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=policy), base_url="https://portal.test") as http:
        answer = await http.get("/portal/notifications", headers={"Cookie": "__Secure-pp_new_secret=whsec_y"})
    assert answer.text == "whsec_y"
    assert answer.headers["set-cookie"].startswith("__Secure-pp_new_secret=whsec_x;")
    assert "; Secure" in answer.headers["set-cookie"]


def test_production_turns_secure_cookies_on_whatever_cookie_secure_says():
    settings = GatewaySettings(
        app_env="production",
        gateway_admin_token=uuid.uuid4().hex,
        cookie_secure=False,
        database_url="postgresql://db.example/gateway",
    )
    assert settings.secure_cookies
