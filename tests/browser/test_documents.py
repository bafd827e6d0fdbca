"""Documents: request a statement for this month and download its PDF."""

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from tests.browser.conftest import log_in, needs, screenshot


async def test_request_a_statement_and_download_its_pdf(page, stack):
    needs(stack, "billing", "documents")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await page.goto("/portal/documents?lang=de")
    await page.fill("#statement-month", datetime.now(ZoneInfo("Europe/Berlin")).strftime("%Y-%m"))
    await page.click("form[action='/portal/documents/statements'] button[type=submit]")
    await expect(page.locator(".flash-ok")).to_contain_text("Kontoauszug")
    link = page.locator("table.docs [data-testid=pdf-link]").first
    for _ in range(30):
        if await link.count():
            break
        await asyncio.sleep(1)
        await page.reload()
    async with page.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    assert (await asyncio.to_thread(_head, await download.path())) == b"%PDF"
    await screenshot(page, "documents-statement-de")


def _head(path) -> bytes:
    with open(path, "rb") as f:
        return f.read(4)
