"""notify emails the gateway's password reset link once per event, to the user, never to the logs."""

import asyncio
from datetime import timedelta

from contracts.base import utcnow
from contracts.gateway.v1 import PasswordResetRequested

URL = "http://portal.test/password-reset/" + "T0k3n_" * 8


def requested(tenant_id: str, **overrides) -> PasswordResetRequested:
    fields = {"tenant_id": tenant_id, "email": "anna@muster.example", "reset_url": URL, "locale": "en",
              "expires_at": utcnow() + timedelta(hours=1), **overrides}
    return PasswordResetRequested(**fields)


async def publish(stack, event: PasswordResetRequested, msg_id: str) -> None:
    await stack.js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id})


async def test_reset_link_is_mailed_once_per_event_and_not_logged(notify_stack, smtp, tenant_id, capfd):
    async with notify_stack() as stack:
        event = requested(tenant_id)
        await publish(stack, event, event.event_id)
        [mail] = await smtp.wait_for(1, timeout=10)
        assert mail.rcpt_tos == ["anna@muster.example"]
        assert mail.message["Subject"] == "Reset your password"
        assert URL in mail.message.get_body(("plain",)).get_content()
        assert f'href="{URL}"' in mail.message.get_body(("html",)).get_content()

        await publish(stack, event, "another-msg-id")  # a redelivery that JetStream did not de-duplicate
        await publish(stack, requested(tenant_id, expires_at=utcnow() - timedelta(seconds=1)), "expired")
        await asyncio.sleep(1.5)
        assert len(smtp.messages) == 1
    captured = capfd.readouterr()
    assert "notify.password_reset_mailed" in captured.out + captured.err
    assert "T0k3n_" not in captured.out + captured.err
