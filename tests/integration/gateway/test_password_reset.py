"""Password reset by an emailed link (issue 10): gateway + notify + a real SMTP sink."""

import asyncio
import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from contracts.base import utcnow
from devtools.smtp_sink import SmtpSink
from services.gateway.tables import PasswordResetToken
from tests.integration.gateway.test_portal_auth import PASSWORD, browser, form_token, log_in, portal_user
from tests.integration.gateway.test_rate_limit import _fresh_window as fresh_window

EMAIL = "anna@muster.example"
NEW_PASSWORD = "a much better passphrase"
BASE = "http://portal.test"
SENT_DE = "Falls die Adresse zu einem Zugang gehört"
NEW = "/password-reset/new"


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


def with_mail(stack, smtp, **gateway_settings):
    return stack(
        "notify",
        notify_settings={"smtp_host": smtp.host, "smtp_port": smtp.port},
        portal_base_url=BASE,
        **gateway_settings,
    )


async def ask_for_link(web, email: str):
    page = await web.get("/password-reset")
    assert page.status_code == 200
    return await web.post("/password-reset", data={"email": email, "csrf_token": form_token(page.text)})


def link_in(mail) -> str:
    text = mail.message.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+/password-reset/new#token=[A-Za-z0-9_-]+", text).group(0)


async def set_password(web, link: str, password: str, repeat: str | None = None):
    """What the page's script does: the token from the link's fragment goes into the posted form."""
    page = await web.get(NEW)
    return await web.post(
        NEW,
        data={
            "token": urlsplit(link).fragment.removeprefix("token="),
            "password": password,
            "password_repeat": repeat or password,
            "csrf_token": form_token(page.text),
        },
    )


async def test_emailed_link_sets_a_new_password_once_and_ends_old_sessions(stack, smtp):
    async with with_mail(stack, smtp) as s, browser(s) as old, browser(s) as web:
        await portal_user(s, EMAIL)
        assert (await log_in(old, EMAIL)).status_code == 303
        assert (await old.get("/")).status_code == 200

        login_page = await web.get("/login")
        assert 'href="/password-reset?lang=de"' in login_page.text and "Passwort vergessen?" in login_page.text
        answer = await ask_for_link(web, "Anna@Muster.example")
        assert answer.status_code == 200 and SENT_DE in answer.text

        [mail] = await smtp.wait_for(1, timeout=10)
        assert mail.rcpt_tos == [EMAIL]  # the user's address, not the tenant's billing email
        assert mail.message["Subject"] == "Passwort zurücksetzen"
        link = link_in(mail)
        assert link.startswith(BASE + "/password-reset/new#token=")  # the token never in a path or query
        assert f'href="{link}"' in mail.message.get_body(("html",)).get_content()

        form = await web.get(NEW)
        assert form.status_code == 200 and form.headers["referrer-policy"] == "no-referrer"
        assert 'name="password_repeat"' in form.text and '<script src="/static/password_reset.js">' in form.text
        mismatch = await set_password(web, link, NEW_PASSWORD, "something else entirely")
        assert mismatch.status_code == 422 and "stimmen nicht überein" in mismatch.text
        done = await set_password(web, link, NEW_PASSWORD)
        assert done.status_code == 303 and done.headers["location"] == "/login"
        assert "Ihr Passwort wurde geändert" in (await web.get("/login")).text
        assert "Ihr Passwort wurde geändert" not in (await web.get("/login")).text  # shown once

        assert (await old.get("/")).status_code == 303  # the old session is logged out
        assert (await log_in(web, EMAIL, PASSWORD)).status_code == 401
        assert (await log_in(web, EMAIL, NEW_PASSWORD)).status_code == 303

        async with browser(s) as again:  # the link works once
            reused = await set_password(again, link, "yet another passphrase")
            assert reused.status_code == 400
            assert (await log_in(again, EMAIL, NEW_PASSWORD)).status_code == 303


async def test_unknown_address_gets_the_same_answer_and_no_email(stack, smtp):
    async with with_mail(stack, smtp) as s, browser(s) as web:
        await portal_user(s, EMAIL)
        unknown = await ask_for_link(web, "nobody@muster.example")
        known = await ask_for_link(web, EMAIL)
        assert unknown.status_code == known.status_code == 200

        def shape(html: str) -> str:
            return re.sub(r'value="[^"]*"', 'value=""', html)

        assert shape(unknown.text) == shape(known.text)
        await smtp.wait_for(1, timeout=10)
        await asyncio.sleep(1.0)
        assert [m.rcpt_tos for m in smtp.messages] == [[EMAIL]]


async def test_unknown_and_expired_links_are_refused(stack, smtp):
    async with with_mail(stack, smtp) as s, browser(s) as web:
        await portal_user(s, EMAIL)
        unknown = f"{BASE}{NEW}#token={secrets.token_urlsafe(32)}"
        assert (await set_password(web, unknown, NEW_PASSWORD)).status_code == 400

        await ask_for_link(web, EMAIL)
        [mail] = await smtp.wait_for(1, timeout=10)
        async with s.gateway.db.transaction() as session:  # an hour later
            await session.execute(sa.update(PasswordResetToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        refused = await set_password(web, link_in(mail), NEW_PASSWORD)
        assert refused.status_code == 400 and "abgelaufen" in refused.text
        assert (await log_in(web, EMAIL, PASSWORD)).status_code == 303  # the password is unchanged


async def test_reset_forms_need_their_csrf_token_and_are_rate_limited(stack, smtp):
    async with with_mail(stack, smtp, rate_limit_per_minute=3) as s, browser(s) as web:
        await portal_user(s, EMAIL)
        await fresh_window()  # the three requests must fall into one counting minute
        await web.get("/password-reset")
        assert (await web.post("/password-reset", data={"email": EMAIL})).status_code == 403
        page = await web.get("/password-reset")
        cross = await web.post(
            "/password-reset",
            headers={"Origin": "https://evil.example"},
            data={"email": EMAIL, "csrf_token": form_token(page.text)},
        )
        assert cross.status_code == 403
        await asyncio.sleep(1.0)
        assert smtp.messages == []  # refused forms send nothing

        assert (await ask_for_link(web, EMAIL)).status_code == 200  # the third request from this IP
        limited = await ask_for_link(web, EMAIL)
        assert limited.status_code == 429 and "retry-after" in limited.headers
        await smtp.wait_for(1, timeout=10)
        await asyncio.sleep(1.0)
        assert len(smtp.messages) == 1


async def test_english_page_sends_an_english_email(stack, smtp):
    async with with_mail(stack, smtp) as s, browser(s) as web:
        await portal_user(s, EMAIL)
        page = await web.get("/password-reset?lang=en")
        assert "Reset password" in page.text
        answer = await web.post("/password-reset?lang=en", data={"email": EMAIL, "csrf_token": form_token(page.text)})
        assert "If the address belongs to a login" in answer.text
        [mail] = await smtp.wait_for(1, timeout=10)
        assert mail.message["Subject"] == "Reset your password"
        assert "works only once" in mail.message.get_body(("plain",)).get_content()
