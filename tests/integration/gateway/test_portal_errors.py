"""A portal page that answers 503 says why in the gateway's log (the customer sees "Nicht verfügbar")."""

from tests.integration.gateway.test_portal_auth import browser, form_token, log_in, portal_user


async def test_a_503_of_the_portal_leaves_a_log_line_naming_the_service_that_did_not_answer(stack, capfd):
    async with stack() as s, browser(s) as web:  # billing and the gateway, no notify
        await portal_user(s)
        await log_in(web, "anna@muster.example")
        page = await web.get("/portal/notifications")
        saved = await web.post(
            "/portal/notifications/preferences", data={"csrf_token": form_token(page.text), "balance.low:email": "on"}
        )
    assert saved.status_code == 503
    logged = capfd.readouterr()
    lines = [line for line in (logged.out + logged.err).splitlines() if "portal.unavailable" in line]
    assert lines, "no log line for the portal's 503"
    assert "/portal/notifications/preferences" in lines[0] and "rpc.notify.preferences.update.v1" in lines[0]
