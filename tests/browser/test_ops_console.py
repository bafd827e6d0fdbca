"""The operator console in Chromium: log in with the admin token, tenants by projected days left, a
tenant whose name is a script shown as text, an adjustment through its confirmation into the ledger,
and a form posted from another site refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from playwright.async_api import expect

from tests.browser.conftest import needs, screenshot
from tests.support.stack import ADMIN, eventually, publish_usage

SCRIPT = "<script>alert(1)</script>"
ADMIN_TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")


async def credit(stack, tenant_id: str, cents: int) -> None:
    response = await stack.http.post(
        f"/admin/v1/tenants/{tenant_id}/adjustments",
        json={"amount_cents": cents, "reason": "Start"},
        headers={**ADMIN, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text


async def ops_log_in(page, stack) -> None:
    await page.goto("/ops")
    await page.wait_for_url(f"{stack.url}/ops/login")
    await page.fill("#token", ADMIN_TOKEN)
    await page.click("button[type=submit].primary")
    await page.wait_for_url(f"{stack.url}/ops")
    assert ADMIN_TOKEN not in page.url and ADMIN_TOKEN not in await page.content()


async def adjustments(stack, tenant) -> list[dict]:
    items = (await stack.http.get("/v1/transactions", headers=tenant.api)).json()["items"]
    return [t for t in items if t["kind"] == "adjustment"]


async def test_an_operator_adjusts_a_tenant_named_like_a_script_through_the_confirmation(page, stack):
    needs(stack, "billing", "payments")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    scripted = await stack.tenant(name=SCRIPT)
    busy = await stack.tenant(name="Viel Nutzung GmbH")
    await credit(stack, scripted.id, 50_000)
    await credit(stack, busy.id, 3_000)
    now = datetime.now(UTC).isoformat()
    for tenant in (scripted, busy):
        await publish_usage(
            stack.nc.jetstream(), usage_id=f"{tenant.id}-u", tenant_id=tenant.id, amount_cents=700, occurred_at=now
        )

    async def both_used():
        balances = [
            (await stack.http.get("/v1/balance", headers=t.api)).json()["balance_cents"] for t in (scripted, busy)
        ]
        return balances == [49_300, 2_300]

    await eventually(both_used)

    await ops_log_in(page, stack)
    rows = page.locator("#tenants tbody tr")
    days = await rows.evaluate_all("rows => rows.map(r => r.querySelector('.days').dataset.days)")
    numbers = [int(d) for d in days if d]
    assert numbers == sorted(numbers) and days == [str(n) for n in numbers] + [""] * (len(days) - len(numbers)), days
    busy_row, scripted_row = (
        page.locator(f"tr[data-tenant='{busy.id}']"),
        page.locator(f"tr[data-tenant='{scripted.id}']"),
    )
    assert await busy_row.count() == 1 and await scripted_row.count() == 1
    order = await rows.evaluate_all("rows => rows.map(r => r.dataset.tenant)")
    assert order.index(busy.id) < order.index(scripted.id)  # the shorter runway first
    await screenshot(page, "ops-tenants")

    await scripted_row.get_by_role("link").click()
    await page.wait_for_url(f"{stack.url}/ops/tenants/{scripted.id}")
    await expect(page.locator("[data-testid=tenant-name]")).to_have_text(SCRIPT)
    assert SCRIPT not in await page.content()

    reason = "Gutschrift <img src=x onerror=alert(2)>"
    await page.fill("#adjust-amount", "25,50")
    await page.fill("#adjust-reason", reason)
    await page.click("#adjust button[type=submit]")
    await expect(page.locator("[data-testid=confirm-title]")).to_contain_text(SCRIPT)
    await expect(page.locator(".confirm .facts")).to_contain_text("25,50")
    await expect(page.locator(".confirm .facts")).to_contain_text(reason)
    assert [a["amount_cents"] for a in await adjustments(stack, scripted)] == [50_000]  # not before confirming
    await screenshot(page, "ops-confirm")
    await page.click("#confirm button[type=submit]")
    await page.wait_for_url(f"{stack.url}/ops/tenants/{scripted.id}")
    await expect(page.locator("[data-testid=flash]")).to_contain_text("25,50")
    newest = page.locator("#ledger tbody tr").first
    await expect(newest).to_contain_text(reason)
    await expect(newest).to_contain_text("25,50")
    await expect(page.locator("[data-testid=balance]")).to_contain_text("518,50")
    await screenshot(page, "ops-tenant")
    assert [a["amount_cents"] for a in await adjustments(stack, scripted)] == [2_550, 50_000]
    assert dialogs == []

    # a page elsewhere posts a complete-looking adjustment to the console: refused, nothing booked
    target = f"{stack.url}/ops/tenants/{scripted.id}/adjustments"
    token = await page.locator("#adjust input[name=csrf_token]").get_attribute("value")
    attacker = (
        f"<!doctype html><form id=f method=post action='{target}'>"
        f"<input name=amount_cents value=99900><input name=reason value=forged>"
        f"<input name=key value=ops-{uuid.uuid4().hex}><input name=csrf_token value='{token}'></form>"
        "<script>document.getElementById('f').submit()</script>"
    )
    await page.route("http://attacker.test/", lambda route: route.fulfill(body=attacker, content_type="text/html"))
    async with page.expect_navigation(url=lambda url: url.startswith(stack.url)):
        await page.goto("http://attacker.test/")
    await page.wait_for_load_state()
    # The session cookie is SameSite=Strict, so the post arrives without it and lands on the login;
    # with it, the cross-site check would answer 403. Never a booking.
    assert page.url == f"{stack.url}/ops/login" or await page.locator("[data-testid=page-error]").count() == 1
    assert [a["amount_cents"] for a in await adjustments(stack, scripted)] == [2_550, 50_000]
    await page.goto(f"/ops/tenants/{scripted.id}")
    await expect(page.locator("[data-testid=tenant-name]")).to_have_text(SCRIPT)  # still logged in
