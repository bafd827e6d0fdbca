"""Portal login, logout, the session cookie and CSRF (API.md "Portal (HTML)")."""

import re

import httpx

from tests.support.stack import ADMIN, create_tenant

PASSWORD = "correct horse battery"


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def meta_token(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


async def portal_user(s, email: str = "anna@muster.example") -> tuple[str, dict]:
    tenant_id, auth = await create_tenant(s.http)
    created = await s.http.post(
        f"/admin/v1/tenants/{tenant_id}/users", json={"email": email, "password": PASSWORD}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    return tenant_id, auth


def browser(s) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=str(s.http.base_url), timeout=10)


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    return await client.post("/login", data={"email": email, "password": password, "csrf_token": form_token(page.text)})


async def test_login_sets_a_protected_session_and_pages_carry_the_csrf_token(stack):
    async with stack() as s, browser(s) as web:
        await portal_user(s)
        logged_out = await web.get("/")
        assert logged_out.status_code == 303 and logged_out.headers["location"] == "/login"

        response = await log_in(web, "Anna@Muster.example")
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("pp_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/" in cookie
        assert "Secure" not in cookie
        home = await web.get("/")
        assert home.status_code == 200
        assert meta_token(home.text) == form_token(home.text)
        assert (await web.get("/login")).status_code == 303  # already logged in
        assert (await web.get("/v1/balance")).json()["balance_cents"] == 0  # the API takes the cookie too


async def test_wrong_password_unknown_user_or_missing_token_open_no_session(stack):
    async with stack() as s, browser(s) as web:
        await portal_user(s)
        wrong = await log_in(web, "anna@muster.example", "not the password")
        assert wrong.status_code == 401
        assert 'name="password"' in wrong.text and "pp_session" not in wrong.headers.get("set-cookie", "")
        assert (await log_in(web, "nobody@muster.example")).status_code == 401
        escaped = await log_in(web, '"><script>alert(1)</script>@x.example')
        assert escaped.status_code == 401 and "<script>alert(1)" not in escaped.text

        await web.get("/login")
        no_token = await web.post("/login", data={"email": "anna@muster.example", "password": PASSWORD})
        assert no_token.status_code == 403
        forged = await web.post(
            "/login", data={"email": "anna@muster.example", "password": PASSWORD, "csrf_token": "forged"}
        )
        assert forged.status_code == 403
        async with browser(s) as attacker:  # a token from another browser's form does not match this cookie
            stolen = form_token((await attacker.get("/login")).text)
        assert (
            await web.post("/login", data={"email": "anna@muster.example", "password": PASSWORD, "csrf_token": stolen})
        ).status_code == 403
        page = await web.get("/login")
        cross_site = await web.post(
            "/login",
            headers={"Origin": "https://evil.example"},
            data={"email": "anna@muster.example", "password": PASSWORD, "csrf_token": form_token(page.text)},
        )
        assert cross_site.status_code == 403
        assert "pp_session" not in web.cookies
        assert (await web.get("/")).status_code == 303


async def test_cookie_requests_that_change_state_need_the_csrf_token(stack):
    async with stack() as s, browser(s) as web:
        await portal_user(s)
        await log_in(web, "anna@muster.example")
        token = meta_token((await web.get("/")).text)

        refused = await web.patch("/v1/account", json={"name": "Evil Corp"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert (
            await web.patch("/v1/account", json={"name": "Evil"}, headers={"X-CSRF-Token": "nope"})
        ).status_code == 403
        cross = await web.patch(
            "/v1/account", json={"name": "Evil"}, headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status_code == 403
        assert (await web.get("/v1/account")).json()["name"] == "Muster GmbH"  # nothing changed

        ok = await web.patch("/v1/account", json={"name": "Neu GmbH"}, headers={"X-CSRF-Token": token})
        assert ok.status_code == 200 and ok.json()["name"] == "Neu GmbH"


async def test_logout_needs_the_token_and_ends_the_session(stack):
    async with stack() as s, browser(s) as web:
        await portal_user(s)
        await log_in(web, "anna@muster.example")
        token = meta_token((await web.get("/")).text)
        session_cookie = web.cookies["pp_session"]

        assert (await web.post("/logout")).status_code == 403
        assert (await web.get("/")).status_code == 200  # still logged in

        out = await web.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert (await web.get("/")).status_code == 303
        replayed = await s.http.get("/v1/balance", cookies={"pp_session": session_cookie})
        assert replayed.status_code == 401


async def test_secure_cookie_when_configured(stack):
    async with stack(cookie_secure=True) as s, browser(s) as web:
        await portal_user(s)
        page = await web.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        response = await web.post(
            "/login",
            data={"email": "anna@muster.example", "password": PASSWORD, "csrf_token": form_token(page.text)},
            cookies={"pp_login_csrf": page.cookies["pp_login_csrf"]},
        )
        assert response.status_code == 303
        assert "Secure" in next(c for c in response.headers.get_list("set-cookie") if c.startswith("pp_session="))
