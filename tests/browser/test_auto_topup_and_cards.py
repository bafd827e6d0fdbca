"""Auto top-up settings with validation messages, and a card added through the SetupIntent page,
made default, so auto top-up can be enabled."""

from playwright.async_api import expect

from tests.browser.conftest import log_in, needs, screenshot


async def _skip_without_auto_topup(stack, tenant):
    import pytest

    response = await stack.http.get("/v1/auto-topup", headers=tenant.api)
    if response.status_code == 503:
        pytest.skip("billing does not answer the auto top-up RPC yet")


async def test_auto_topup_form_explains_bad_input_and_saves_good_input(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    await _skip_without_auto_topup(stack, tenant)
    await log_in(page, stack, tenant)
    await page.goto("/portal/auto-topup?lang=de")
    await page.fill("#threshold", "abc")
    await page.fill("#amount", "5")
    await page.fill("#monthly_limit", "200")
    await page.click("#auto-topup-form button[type=submit]")
    await expect(page.locator("[data-testid=error-threshold]")).to_contain_text("Betrag in Euro")
    await expect(page.locator("[data-testid=error-amount]")).to_contain_text("zwischen 10,00\u00a0€")
    await expect(page.locator("#threshold")).to_have_attribute("aria-invalid", "true")
    await screenshot(page, "auto-topup-errors-de")

    await page.fill("#threshold", "20")
    await page.fill("#amount", "50,00")
    await page.fill("#monthly_limit", "200")
    await page.click("#auto-topup-form button[type=submit]")
    await expect(page.locator(".flash-ok")).to_have_text("Gespeichert.")
    saved = (await stack.http.get("/v1/auto-topup", headers=tenant.api)).json()
    assert (saved["threshold_cents"], saved["amount_cents"], saved["monthly_limit_cents"]) == (2000, 5000, 20000)


async def test_enabling_needs_a_default_card_which_can_be_added_on_the_cards_page(page, stack):
    needs(stack, "billing", "payments")
    tenant = await stack.tenant()
    await _skip_without_auto_topup(stack, tenant)
    await log_in(page, stack, tenant)
    await page.goto("/portal/auto-topup?lang=en")
    await page.check("#enabled")
    await page.fill("#threshold", "20")
    await page.fill("#amount", "50")
    await page.fill("#monthly_limit", "500")
    await page.click("#auto-topup-form button[type=submit]")
    await expect(page.locator("[data-testid=error-enabled]")).to_contain_text("default card")

    await page.goto("/portal/payment-methods")
    await page.click("text=Add a card")
    assert (await page.locator("#setup-form").get_attribute("data-setup-intent")).startswith("seti_")
    await screenshot(page, "payment-method-add-en")
    first = stack.emulator.create_card("4242424242424242")
    await page.fill("#payment_method_id", first)
    await page.click("#setup-form button[type=submit]")
    await expect(page.locator(".flash-ok")).to_have_text("Card saved.")
    await expect(page.locator(".pm").first).to_contain_text("4242")
    await expect(page.locator(".pill-default")).to_have_count(1)

    await page.click("text=Add a card")
    second = stack.emulator.create_card("5555555555554444")
    await page.fill("#payment_method_id", second)
    await page.uncheck("#make_default")
    await page.click("#setup-form button[type=submit]")
    await expect(page.locator(".pm")).to_have_count(2)
    await page.locator(f'.pm[data-pm="{second}"] button:has-text("Make default")').click()
    await expect(page.locator(".flash-ok")).to_have_text("Default card changed.")
    await expect(page.locator(f'.pm[data-pm="{second}"] .pill-default')).to_be_visible()
    await screenshot(page, "payment-methods-two-cards-en")
    await page.locator(f'.pm[data-pm="{first}"] button.danger').click()
    await expect(page.locator(".pm")).to_have_count(1)

    await page.goto("/portal/auto-topup")
    await page.check("#enabled")
    await page.fill("#threshold", "20")
    await page.fill("#amount", "50")
    await page.fill("#monthly_limit", "500")
    await page.click("#auto-topup-form button[type=submit]")
    await expect(page.locator(".flash-ok")).to_have_text("Saved.")
    await expect(page.locator("#enabled")).to_be_checked()
    await screenshot(page, "auto-topup-enabled-en")
