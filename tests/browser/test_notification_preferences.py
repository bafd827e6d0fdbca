"""The notification settings form, as a new customer uses it: save without changing anything, change a
channel, save, reload, and the choice is kept."""

from playwright.async_api import expect

from tests.browser.conftest import log_in, needs, screenshot


async def test_a_changed_channel_is_saved_and_still_there_after_a_reload(page, stack):
    needs(stack, "notify")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await page.goto("/portal/notifications?lang=de")
    save = page.locator("form[action='/portal/notifications/preferences'] button[type=submit]")

    await save.click()  # the first "Speichern", nothing changed: it saves the defaults as they are
    await expect(page.locator(".flash-ok")).to_have_text("Gespeichert.")

    low_by_push = page.locator("#p-balance\\.low-push")
    succeeded_by_email = page.locator("#p-autotopup\\.succeeded-email")
    await expect(low_by_push).to_be_checked()
    await expect(succeeded_by_email).not_to_be_checked()
    await low_by_push.uncheck()
    await succeeded_by_email.check()
    await save.click()
    await expect(page.locator(".flash-ok")).to_have_text("Gespeichert.")

    await page.reload()
    await expect(low_by_push).not_to_be_checked()
    await expect(succeeded_by_email).to_be_checked()
    await expect(page.locator("#p-balance\\.low-email")).to_be_checked()
    await screenshot(page, "notification-preferences-saved-de")
    stored = (await stack.http.get("/v1/notification-preferences", headers=tenant.api)).json()
    assert stored["balance.low"] == ["email"] and stored["autotopup.succeeded"] == ["email"]


async def test_a_critical_event_is_marked_as_recommended_and_can_still_be_switched_off(page, stack):
    needs(stack, "notify")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await page.goto("/portal/notifications?lang=de")
    await expect(page.get_by_test_id("recommended-balance.depleted")).to_have_text("empfohlen")
    await expect(page.get_by_test_id("recommended-balance.low")).to_have_count(0)

    for channel in ("email", "sms", "push"):
        await page.locator(f"#p-balance\\.depleted-{channel}").uncheck()
    await page.locator("form[action='/portal/notifications/preferences'] button[type=submit]").click()
    await expect(page.locator(".flash-ok")).to_have_text("Gespeichert.")
    stored = (await stack.http.get("/v1/notification-preferences", headers=tenant.api)).json()
    assert stored["balance.depleted"] == []
