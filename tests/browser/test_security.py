"""CSRF: a form posted from another site changes nothing. XSS: tenant-supplied text is shown as text."""

from datetime import UTC, datetime

import httpx
from playwright.async_api import expect

from tests.browser.conftest import log_in, needs, screenshot
from tests.support.stack import publish_usage

SCRIPT = "<script>alert(1)</script>"
PAGES = [
    "/",
    "/portal/transactions",
    "/portal/topup",
    "/portal/payment-methods",
    "/portal/auto-topup",
    "/portal/documents",
    "/portal/notifications",
]


async def test_a_cross_site_form_post_is_refused(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    target = f"{stack.url}/portal/notifications/phone"
    attacker = (
        "<!doctype html><form id=f method=post action='" + target + "'>"
        "<input name=phone value='+49 999 666'><input name=csrf_token value=guess></form>"
        "<script>document.getElementById('f').submit()</script>"
    )
    await page.route("http://attacker.test/", lambda route: route.fulfill(body=attacker, content_type="text/html"))
    async with page.expect_navigation(url=lambda url: url.startswith(stack.url)):
        await page.goto("http://attacker.test/")
    await page.wait_for_load_state()
    # Without the session cookie (SameSite=Lax) the post lands on /login, which sends a logged-in
    # browser on to the dashboard; with it, it would be a 403 page. Never a saved phone number.
    assert await page.locator(".flash-ok").count() == 0
    assert page.url.rstrip("/") == stack.url or await page.locator("[data-testid=page-error]").count() == 1, page.url

    account = (await stack.http.get("/v1/account", headers=tenant.api)).json()
    assert account.get("phone") != "+49 999 666"

    cookie = {c["name"]: c["value"] for c in await page.context.cookies()}["pp_session"]
    async with httpx.AsyncClient(base_url=stack.url, cookies={"pp_session": cookie}) as same_browser:
        without_token = await same_browser.post("/portal/notifications/phone", data={"phone": "+49 999 666"})
        wrong_token = await same_browser.post(
            "/portal/notifications/phone", data={"phone": "+49 999 666", "csrf_token": "guess"}
        )
    assert without_token.status_code == 403
    assert wrong_token.status_code == 403
    account = (await stack.http.get("/v1/account", headers=tenant.api)).json()
    assert account.get("phone") != "+49 999 666"


async def test_tenant_supplied_text_is_escaped_on_every_page(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant(name=SCRIPT)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    await publish_usage(
        stack.nc.jetstream(),
        usage_id=f"{tenant.id}-x",
        tenant_id=tenant.id,
        amount_cents=5,
        occurred_at=datetime.now(UTC).isoformat(),
        description=SCRIPT,
    )
    if "notify" in stack.services:
        hook = await stack.http.post(
            "/v1/webhook-endpoints",
            headers=tenant.api,
            json={
                "url": f"https://hooks.example/{SCRIPT}?a=\"'><img src=x onerror=alert(2)>",
                "events": ["balance.low"],
            },
        )
        assert hook.status_code in (201, 400, 422), hook.text
    await log_in(page, stack, tenant)
    for path in PAGES:
        await page.goto(path)
        await expect(page.locator("[data-testid=tenant-name]")).to_have_text(SCRIPT)
        assert SCRIPT not in await page.content()
    await page.goto("/")
    await expect(page.locator("#recent tbody tr").first).to_contain_text(SCRIPT)
    await page.goto("/portal/notifications")
    await screenshot(page, "xss-notifications", full_page=True)
    assert dialogs == []
