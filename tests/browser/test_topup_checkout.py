"""A top-up paid on the (emulated) Stripe-hosted checkout page: the bonus is shown before paying, the
return page shows the result as soon as the webhook lands, then the balance and the invoice."""

import asyncio

from playwright.async_api import expect

from tests.browser.conftest import log_in, needs, screenshot


async def test_pay_a_topup_through_checkout_and_see_balance_and_invoice(page, stack):
    needs(stack, "billing", "payments")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await page.goto("/portal/topup")
    await page.fill("#amount", "100")
    await expect(page.locator("[data-testid=bonus-preview]")).to_contain_text("5,00\u00a0€")
    await expect(page.locator("[data-testid=bonus-preview]")).to_contain_text("105,00\u00a0€")
    await screenshot(page, "topup-bonus-preview-de")

    await page.click("#topup-form button[type=submit]")
    await page.wait_for_url("**/_test/checkout/**")
    await screenshot(page, "stripe-emulator-checkout")
    await page.click("button[value=pay]")

    await page.wait_for_url("**/portal/topups/**")
    await expect(page.locator("[data-testid=topup-succeeded]")).to_be_visible(timeout=30_000)
    await screenshot(page, "topup-result-de")

    await page.goto("/")
    await expect(page.locator("#balance")).to_have_text("105,00\u00a0€")
    await expect(page.locator("#recent tbody")).to_contain_text("Bonus")
    if "documents" in stack.services:
        await page.goto("/portal/documents?kind=invoice&lang=en")
        invoice = page.locator("table.docs tbody tr[data-doc]").first
        for _ in range(30):  # the invoice is issued asynchronously after the credit
            if await invoice.locator("[data-testid=pdf-link]").count():
                break
            await asyncio.sleep(1)
            await page.reload()
        await expect(invoice).to_contain_text("Invoice")
        await expect(invoice).to_contain_text("€100.00")
        async with page.expect_download() as download_info:
            await invoice.locator("[data-testid=pdf-link]").click()
        download = await download_info.value
        assert (await asyncio.to_thread(_head, await download.path())) == b"%PDF"
        await screenshot(page, "documents-with-invoice-en")


async def test_a_cancelled_checkout_returns_to_a_page_that_says_so(page, stack):
    needs(stack, "billing", "payments")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await page.goto("/portal/topup?lang=en")
    await page.fill("#amount", "25")
    await page.click("#topup-form button[type=submit]")
    await page.wait_for_url("**/_test/checkout/**")
    await page.click("button[value=cancel]")
    await page.wait_for_url("**/portal/topups/**")
    await expect(page.locator("#topup-message")).to_contain_text("cancelled")


async def test_an_amount_outside_the_limits_is_refused_with_a_message(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await page.goto("/portal/topup?lang=en")
    await page.fill("#amount", "5")
    await page.click("#topup-form button[type=submit]")
    await expect(page.locator("#amount-error")).to_contain_text("between €10.00 and €10,000.00")


def _head(path) -> bytes:
    with open(path, "rb") as f:
        return f.read(4)
