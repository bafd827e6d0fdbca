"""Forgot password: from the login page to a new password, in the browser.

The test plays notify: it sees the reset's id on NATS and asks the gateway for the link."""

import asyncio
import json
from dataclasses import replace
from urllib.parse import urlsplit

from contracts.gateway.v1 import GetPasswordResetLink, PasswordResetIssued
from runtime.messaging import request
from tests.browser.conftest import log_in, needs, screenshot

NEW_PASSWORD = "a much better passphrase"


async def test_forgotten_password_is_reset_through_the_link(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    resets: asyncio.Queue[str] = asyncio.Queue()

    async def seen(msg):
        await resets.put(json.loads(msg.data)["reset_id"])

    sub = await stack.nc.subscribe(PasswordResetIssued.subject, cb=seen)
    try:
        await page.goto("/login")
        await page.click("text=Passwort vergessen?")
        await page.fill("#email", tenant.email)
        await screenshot(page, "password-reset-request-de")
        await page.click("button[type=submit]")
        await page.wait_for_selector(".flash-ok")
        reset_id = await asyncio.wait_for(resets.get(), timeout=10)
    finally:
        await sub.unsubscribe()
    link = await request(stack.nc, GetPasswordResetLink(reset_id=reset_id))

    parts = urlsplit(link.reset_url)
    await page.goto(f"{parts.path}#{parts.fragment}")
    assert "token" not in page.url  # the page's script took it out of the address bar
    await page.fill("#password", NEW_PASSWORD)
    await page.fill("#password_repeat", NEW_PASSWORD)
    await screenshot(page, "password-reset-new-de")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{stack.url}/login")
    assert "Passwort wurde geändert" in await page.locator(".flash-ok").inner_text()
    await screenshot(page, "password-reset-done-de")

    await log_in(page, stack, replace(tenant, password=NEW_PASSWORD))
