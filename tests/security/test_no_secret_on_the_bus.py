"""No secret on the bus: a password reset link never travels in an event, an outbox row or a stream.

Before the fix the gateway staged `PasswordResetRequested` with the whole link in its outbox, and
the GATEWAY stream kept it for seven days: anyone who could read the stream could take over any
portal account. Now the event carries the reset's id only; notify asks the gateway for the link
over request/reply (core NATS, never stored) right before it mails it.
"""

import re

import pytest

from devtools.smtp_sink import SmtpSink
from tests.security.conftest import add_portal_user, form_token

LINK = re.compile(r"https?://\S+/password-reset/(?:new#token=)?([A-Za-z0-9_-]{20,})")


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


async def every_message(js) -> list[tuple[str, int, bytes]]:
    """(stream, sequence, subject + headers + data) of every message kept in any JetStream stream."""
    kept = []
    for info in await js.streams_info():
        state = info.state
        for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
            try:
                msg = await js.get_msg(info.config.name, seq)
            except Exception:
                continue
            headers = "".join(f"{k}:{v}" for k, v in (msg.headers or {}).items())
            kept.append((info.config.name, seq, f"{msg.subject}{headers}".encode() + (msg.data or b"")))
    return kept


async def test_the_reset_token_is_in_the_mail_and_in_no_stream(stack, smtp, database_url):
    async with stack(
        "notify",
        with_billing=False,
        portal_base_url="http://portal.test",
        notify_settings={"smtp_host": smtp.host, "smtp_port": smtp.port},
    ) as s:
        await add_portal_user(
            database_url, s.gateway.settings.db_schema, email="anna@muster.example", password="correct horse battery"
        )
        page = await s.http.get("/password-reset")
        answer = await s.http.post(
            "/password-reset", data={"email": "anna@muster.example", "csrf_token": form_token(page.text)}
        )
        assert answer.status_code == 200
        [mail] = await smtp.wait_for(1, timeout=15)
        token = LINK.search(mail.message.get_body(("plain",)).get_content()).group(1)

        kept = await every_message(s.js)
    assert any(stream == "GATEWAY" for stream, _, _ in kept)  # the reset did go over the bus
    leaks = [(stream, seq) for stream, seq, raw in kept if token.encode() in raw]
    assert leaks == [], f"the reset token is kept in {leaks}"
