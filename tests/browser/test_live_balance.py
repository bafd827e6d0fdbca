"""The dashboard shows a usage record published on NATS without a reload: balance, the new
transaction and today's usage bar."""

from datetime import UTC, datetime

from playwright.async_api import expect

from contracts.portal.catalog import DASHBOARD_ALERTS
from tests.browser.conftest import log_in, needs, screenshot
from tests.support.stack import publish_usage


async def test_balance_and_transactions_update_live_when_usage_arrives(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await expect(page.locator("#balance")).to_have_text("0,00\u00a0€")
    await expect(page.locator("#live.on")).to_be_visible()
    alert_types = await page.locator("#alert-texts").evaluate(
        "t => Array.from(t.content.querySelectorAll('span')).map(s => s.dataset.type)"
    )
    assert alert_types == list(DASHBOARD_ALERTS)  # the banners the page can raise are the catalogue's

    await publish_usage(
        stack.nc.jetstream(),
        usage_id=f"{tenant.id}-call-1",
        tenant_id=tenant.id,
        amount_cents=199,
        occurred_at=datetime.now(UTC).isoformat(),
        description="Anruf 0301234567",
    )

    await expect(page.locator("#balance")).to_have_text("−1,99\u00a0€")
    row = page.locator("#recent tbody tr").first
    await expect(row).to_contain_text("Anruf 0301234567")
    await expect(row).to_contain_text("−1,99")
    await expect(row).to_contain_text("Nutzung")
    today = page.locator("#usage-chart rect").last
    await expect(today).to_have_attribute("data-cents", "199")
    await screenshot(page, "dashboard-live-de")


async def test_stream_reconnects_after_the_connection_drops(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await expect(page.locator("#live.on")).to_be_visible()
    await page.context.set_offline(True)
    await page.context.set_offline(False)
    await publish_usage(
        stack.nc.jetstream(),
        usage_id=f"{tenant.id}-after-drop",
        tenant_id=tenant.id,
        amount_cents=250,
        occurred_at=datetime.now(UTC).isoformat(),
    )
    await expect(page.locator("#balance")).to_have_text("−2,50\u00a0€", timeout=30_000)
