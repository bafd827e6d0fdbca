"""Browser push opt-in on /portal/notifications: the service worker at /static/sw.js, a subscription made
with the server's VAPID key and saved with the CSRF token, and a push that then reaches it.

Playwright's contexts are incognito, where Chromium offers no Push API: the page's `PushManager` hands
out a subscription of a local push service (which, like a browser's, refuses pushes signed by another key)."""

import json

from playwright.async_api import expect

from contracts.base import new_id
from contracts.portal.v1 import PortalEvent
from tests.browser.conftest import log_in, needs, screenshot
from tests.support.push_endpoint import PushEndpoint, b64url_decode
from tests.support.stack import eventually

FAKE_PUSH_MANAGER = """
(() => {
  const subscription = %s;
  let current = null;
  window.subscribedWith = null;
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
  PushManager.prototype.subscribe = function (options) {
    window.subscribedWith = Array.from(new Uint8Array(options.applicationServerKey));
    current = { endpoint: subscription.endpoint, options: options, toJSON: () => subscription,
                unsubscribe: () => { current = null; return Promise.resolve(true); } };
    return Promise.resolve(current);
  };
})();
"""


async def test_enabling_push_subscribes_with_the_servers_key_and_pushes_arrive(page, context, stack):
    needs(stack, "billing", "notify")
    tenant = await stack.tenant()
    key = (await stack.http.get("/v1/push/vapid-public-key", headers=tenant.api)).json()["public_key"]
    async with PushEndpoint(vapid_public_key=key) as push:
        await context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(push.subscribe()))
        await context.grant_permissions(["notifications"])
        await log_in(page, stack, tenant)
        await page.goto("/portal/notifications")
        button, status = page.locator("#push-enable"), page.locator("#push-status")
        await expect(button).to_be_enabled()
        assert (
            await page.evaluate(
                "navigator.serviceWorker.getRegistration('/static/').then(r => r && r.active && r.active.scriptURL)"
            )
            == f"{stack.url}/static/sw.js"
        )

        await button.click()
        await expect(status).to_have_text("In diesem Browser aktiv.")
        assert bytes(await page.evaluate("window.subscribedWith")) == b64url_decode(key)
        await screenshot(page, "notifications-push-enabled", full_page=False)

        event = PortalEvent(
            id=new_id("evt_"),
            type="topup.succeeded",
            tenant_id=tenant.id,
            data={"topup_id": "top_browser", "amount_cents": 5000, "bonus_cents": 0},
        )
        await stack.nc.jetstream().publish(
            event.subject_for(), event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
        )
        await eventually(lambda: push.received or push.refused, timeout=20)
        assert push.refused == []
        assert [p.json["type"] for p in push.received] == ["topup.succeeded"]


async def test_push_blocked_by_the_browser_is_explained(page, context, stack):
    needs(stack, "billing", "notify")
    tenant = await stack.tenant(locale="en")
    await log_in(page, stack, tenant)
    await page.goto("/portal/notifications?lang=en")
    await expect(page.locator("#push-enable")).to_be_enabled()
    await page.evaluate("() => { Notification.requestPermission = () => Promise.resolve('denied'); }")
    await page.locator("#push-enable").click()
    await expect(page.locator("#push-status")).to_contain_text("Notifications are blocked for this site")
    await expect(page.locator("#push-enable")).to_be_disabled()
