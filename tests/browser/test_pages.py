"""Every portal page in German and English, on a desktop and a phone: screenshots, no horizontal
scrolling (long German words wrap), labelled form fields, and logged-out visitors sent to /login."""

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import log_in, needs, screenshot

PAGES = {
    "dashboard": "/",
    "transactions": "/portal/transactions",
    "topup": "/portal/topup",
    "payment-methods": "/portal/payment-methods",
    "auto-topup": "/portal/auto-topup",
    "documents": "/portal/documents",
    "notifications": "/portal/notifications",
}
HEADINGS = {"de": "Übersicht", "en": "Dashboard"}


async def test_logged_out_visitors_are_sent_to_login(stack):
    async with httpx.AsyncClient(base_url=stack.url) as anonymous:
        for path in PAGES.values():
            response = await anonymous.get(path)
            assert (response.status_code, response.headers.get("location")) == (303, "/login"), path


@pytest.mark.parametrize("lang", ["de", "en"])
async def test_every_page_in_both_languages_fits_a_desktop_and_a_phone(page, stack, lang):
    needs(stack, "billing")
    tenant = await stack.tenant(name="Donaudampfschifffahrtsgesellschaftskapitänsvereinigung Telefonassistenz GmbH")
    await log_in(page, stack, tenant)
    await page.goto(f"/?lang={lang}")
    await expect(page.locator("h1")).to_have_text(HEADINGS[lang])
    for width, height, device in ((1280, 900, "desktop"), (375, 812, "phone")):
        await page.set_viewport_size({"width": width, "height": height})
        for name, path in PAGES.items():
            await page.goto(path)
            assert await page.locator("html").get_attribute("lang") == lang
            assert await page.locator('meta[name="csrf-token"]').get_attribute("content")
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a {device} ({lang})"
            unlabeled = await page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select')]
                .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)""")
            assert unlabeled == [], f"{path}: inputs without a label: {unlabeled}"
            for form in await page.locator("form[method=post]").all():
                action = await form.get_attribute("action")
                if action != "/login":
                    assert await form.locator("input[name=csrf_token]").count() == 1, action
            await screenshot(page, f"{name}-{lang}-{device}")


async def test_keyboard_reaches_the_menu_and_the_skip_link_first(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
