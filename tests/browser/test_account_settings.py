"""The account page: a public buyer chooses XRechnung with its Leitweg-ID (a wrong one is explained,
a right one kept across reloads), and statements offer their CSV on the documents page."""

from pathlib import Path

from playwright.async_api import expect

from tests.browser.conftest import log_in, needs, screenshot

LEITWEG_ID = "04011000-1234512345-06"


async def test_xrechnung_with_a_leitweg_id_is_chosen_in_the_account_settings(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    await page.goto("/portal/account?lang=de")
    await expect(page.locator("#einvoice-en16931")).to_be_checked()
    await page.check("#einvoice-xrechnung")
    await page.fill("#buyer_reference", "04011000-1234512345-07")
    await page.click("#account-form button[type=submit]")
    await expect(page.locator("[data-testid=account-error]")).to_contain_text("check digits")
    await screenshot(page, "account-xrechnung-error-de")

    await page.check("#einvoice-xrechnung")
    await page.fill("#buyer_reference", LEITWEG_ID)
    await page.click("#account-form button[type=submit]")
    await expect(page.locator(".flash-ok")).to_have_text("Gespeichert.")
    await page.reload()
    await expect(page.locator("#einvoice-xrechnung")).to_be_checked()
    await expect(page.locator("#buyer_reference")).to_have_value(LEITWEG_ID)
    account = (await stack.http.get("/v1/account", headers=tenant.api)).json()
    assert (account["einvoice_profile"], account["buyer_reference"]) == ("xrechnung", LEITWEG_ID)

    await page.goto("/portal/account?lang=en")
    await expect(page.locator("label[for=einvoice-xrechnung]")).to_contain_text("public-sector")
    await screenshot(page, "account-settings-en")


async def test_a_statement_offers_its_csv_on_the_documents_page(page, stack):
    needs(stack, "billing", "documents")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    month = (await stack.http.get("/v1/dashboard", headers=tenant.api)).json()["usage_by_day"][-1]["date"][:7]
    assert (await stack.http.post("/v1/statements", json={"month": month}, headers=tenant.api)).status_code == 202
    await page.goto("/portal/documents?kind=statement")
    link = page.locator("[data-testid=csv-link]").first
    for _ in range(50):
        if await link.count():
            break
        await page.wait_for_timeout(200)
        await page.reload()
    async with page.expect_download() as download:
        await link.click()
    path = await (await download.value).path()
    assert Path(path).read_bytes().startswith("\ufeffid;kind;amount".encode())
