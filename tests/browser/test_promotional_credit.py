"""The dashboard shows promotional grants (amount, remaining, expiry) and splits the balance into paid
and promotional credit; usage drawn from a grant moves the split without a reload."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from tests.browser.conftest import log_in, needs, screenshot
from tests.support.stack import ADMIN, publish_usage


async def grant(stack, tenant, key: str, **body) -> dict:
    response = await stack.http.post(
        f"/admin/v1/tenants/{tenant.id}/grants", json=body, headers={**ADMIN, "Idempotency-Key": key}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_grants_and_the_paid_promotional_split_on_the_dashboard(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    adjusted = await stack.http.post(
        f"/admin/v1/tenants/{tenant.id}/adjustments",
        json={"amount_cents": 1000, "reason": "Kulanz"},
        headers={**ADMIN, "Idempotency-Key": f"{tenant.id}-adj"},
    )
    assert adjusted.status_code == 201, adjusted.text
    expires = datetime.now(UTC) + timedelta(days=20)
    await grant(
        stack,
        tenant,
        f"{tenant.id}-g1",
        amount_cents=500,
        reason="Willkommens<b>bonus</b>",
        expires_at=expires.isoformat(),
    )
    await grant(stack, tenant, f"{tenant.id}-g2", amount_cents=300, reason="Empfehlung")

    await log_in(page, stack, tenant)
    await expect(page.locator("#balance")).to_have_text("18,00\u00a0€")
    await expect(page.locator("#balance-split")).to_be_visible()
    await expect(page.locator("#paid")).to_have_text("10,00\u00a0€")
    await expect(page.locator("#promotional")).to_have_text("8,00\u00a0€")
    await expect(page.locator("#next-expiry")).to_contain_text("5,00\u00a0€")
    berlin = expires.astimezone(ZoneInfo("Europe/Berlin"))
    await expect(page.locator("#next-expiry")).to_contain_text(berlin.strftime("%d.%m.%Y"))
    rows = page.locator("#grants tbody tr")
    await expect(rows).to_have_count(2)
    # the order usage draws in: the one that expires first, then the one without expiry
    await expect(rows.nth(0)).to_contain_text("Willkommens<b>bonus</b>")  # tenant-facing text stays text
    await expect(rows.nth(0)).to_have_attribute("data-state", "open")
    await expect(rows.nth(1)).to_contain_text("unbefristet")
    await expect(page.locator("#live.on")).to_be_visible()

    await publish_usage(
        stack.nc.jetstream(),
        usage_id=f"{tenant.id}-call-1",
        tenant_id=tenant.id,
        amount_cents=650,
        occurred_at=datetime.now(UTC).isoformat(),
    )
    await expect(page.locator("#balance")).to_have_text("11,50\u00a0€")
    # 5,00 € from the expiring grant, 1,50 € from the other: paid balance untouched
    await expect(page.locator("#promotional")).to_have_text("1,50\u00a0€")
    await expect(page.locator("#paid")).to_have_text("10,00\u00a0€")
    await expect(page.locator("#next-expiry")).to_be_hidden()
    await expect(rows.nth(0).locator(".remaining")).to_have_text("0,00\u00a0€")
    await expect(rows.nth(0)).to_have_attribute("data-state", "ended")
    await expect(rows.nth(1).locator(".remaining")).to_have_text("1,50\u00a0€")
    await screenshot(page, "dashboard-grants-de")

    await page.reload()
    await expect(rows.nth(0)).to_contain_text("Empfehlung")  # the open one first, the used-up one after
    await expect(rows.nth(1)).to_have_attribute("data-state", "ended")
